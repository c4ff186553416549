import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { StateResponseSchema, TaskStatus, toTimestamp } from "../../../src/api/index.js";
import { SYNOPSIS } from "../../../src/cli/args.js";
import {
  EXIT_FAILURE,
  EXIT_HUSK_FAILURE,
  execFailureStatus,
  failureStatusOf,
  helpText,
} from "../../../src/cli/cli.js";
import { lastDaemonError } from "../../../src/cli/daemon.js";
import { bundleEnv, defaultEnv, mergeEnv } from "../../../src/cli/env.js";
import { formatJson, formatTable, oneLine } from "../../../src/cli/format.js";
import { rootLayout } from "../../../src/cli/layout.js";
import { isLive, statusName, unknownView, viewOf } from "../../../src/cli/state.js";
import { internalError, unknownError } from "../../../src/errors.js";
import { DEFAULT_PATH_ENV } from "../../../src/oci/spec.js";

describe("cli output: tables, lines, JSON", () => {
  it("aligns columns with two spaces and leaves the last column unpadded", () => {
    assert.equal(
      formatTable(
        ["ID", "PID", "STATUS"],
        [
          ["a", "12345", "running"],
          ["longer-id", "-", "stopped"],
        ],
      ),
      "ID         PID    STATUS\na          12345  running\nlonger-id  -      stopped\n",
    );
    assert.equal(formatTable(["PID", "EXEC ID"], []), "PID  EXEC ID\n");
  });

  it("turns a multi-line message into one line", () => {
    assert.equal(
      oneLine("runc create failed:\n  exec: not found\n\n"),
      "runc create failed:; exec: not found",
    );
    assert.equal(oneLine("plain"), "plain");
    assert.equal(oneLine("a\r\nb"), "a; b");
  });

  it("prints JSON indented with a final newline", () => {
    assert.equal(formatJson({ a: 1 }), '{\n  "a": 1\n}\n');
  });
});

describe("cli output: exit statuses and help", () => {
  it("uses 125 for run/exec failures and 1 for the rest", () => {
    assert.equal(failureStatusOf(["run", "/r", "true"]), EXIT_HUSK_FAILURE);
    assert.equal(failureStatusOf(["--root", "/x", "exec", "c", "true"]), EXIT_HUSK_FAILURE);
    assert.equal(failureStatusOf(["state", "x"]), EXIT_FAILURE);
    assert.equal(failureStatusOf(["--bogus"]), EXIT_FAILURE);
  });

  it("maps the runtime's not-found and permission errors to 127 and 126", () => {
    assert.equal(
      execFailureStatus(unknownError('runc start: exec: "nosuch": executable file not found in $PATH')),
      127,
    );
    assert.equal(execFailureStatus(unknownError('exec: "/x": stat /x: no such file or directory')), 127);
    assert.equal(execFailureStatus(unknownError('exec: "/etc/passwd": permission denied')), 126);
    assert.equal(execFailureStatus(internalError("something else")), 125);
    assert.equal(execFailureStatus(new Error('exec: "x": executable file not found')), 125);
  });

  it("lists every command in the help and prints one command's usage", () => {
    const all = helpText(undefined);
    for (const name of Object.keys(SYNOPSIS)) assert.match(all, new RegExp(`^  ${name} `, "m"));
    assert.match(helpText("kill"), /^usage: husk kill \[--all\] ID \[SIGNAL\]\n/);
  });
});

describe("cli state view", () => {
  const layout = rootLayout("/tmp/husk-root");

  it("lays out the state root", () => {
    assert.equal(layout.socket, "/tmp/husk-root/husk.sock");
    assert.equal(layout.daemonLog, "/tmp/husk-root/daemon.log");
    assert.equal(layout.bundle("c1"), "/tmp/husk-root/containers/c1");
    assert.equal(layout.runtimeRoot, "/tmp/husk-root/runtime/husk");
  });

  it("names every status and treats running, paused and pausing as live", () => {
    assert.equal(statusName(TaskStatus.CREATED), "created");
    assert.equal(statusName(TaskStatus.RUNNING), "running");
    assert.equal(statusName(TaskStatus.STOPPED), "stopped");
    assert.equal(statusName(TaskStatus.PAUSED), "paused");
    assert.equal(statusName(TaskStatus.PAUSING), "pausing");
    assert.equal(statusName(TaskStatus.UNKNOWN), "unknown");
    assert.deepEqual(
      (["created", "running", "stopped", "paused", "pausing", "unknown"] as const).filter(isLive),
      ["running", "paused", "pausing"],
    );
  });

  it("shows the exit status and ISO time only once stopped", () => {
    const exitedAt = new Date("2026-01-02T03:04:05.678Z");
    const stopped = create(StateResponseSchema, {
      id: "c1",
      bundle: "/b",
      pid: 42,
      status: TaskStatus.STOPPED,
      exitStatus: 137,
      exitedAt: toTimestamp(exitedAt),
    });
    assert.deepEqual(viewOf(stopped, "/fallback"), {
      id: "c1",
      pid: 42,
      status: "stopped",
      bundle: "/b",
      exitStatus: 137,
      exitedAt: "2026-01-02T03:04:05.678Z",
    });
    const running = create(StateResponseSchema, {
      id: "c1",
      pid: 42,
      status: TaskStatus.RUNNING,
      exitedAt: toTimestamp(undefined),
    });
    assert.deepEqual(viewOf(running, "/fallback"), {
      id: "c1",
      pid: 42,
      status: "running",
      bundle: "/fallback",
      exitStatus: null,
      exitedAt: null,
    });
    assert.deepEqual(unknownView("c2", "/b2"), {
      id: "c2",
      pid: null,
      status: "unknown",
      bundle: "/b2",
      exitStatus: null,
      exitedAt: null,
    });
  });
});

describe("cli environments", () => {
  it("adds --env to the default environment, replacing same-named entries in place", () => {
    assert.deepEqual(defaultEnv(false), [DEFAULT_PATH_ENV]);
    assert.deepEqual(defaultEnv(true), [DEFAULT_PATH_ENV, "TERM=xterm"]);
    assert.deepEqual(mergeEnv(defaultEnv(true), ["A=1", "TERM=dumb", "B=x=y"]), [
      DEFAULT_PATH_ENV,
      "TERM=dumb",
      "A=1",
      "B=x=y",
    ]);
    assert.deepEqual(mergeEnv(["PATH=/bin"], ["PATH=/usr/bin"]), ["PATH=/usr/bin"]);
  });

  it("reads a bundle's process environment, falling back to the default", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "husk-cli-env-"));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    assert.deepEqual(await bundleEnv(dir, false), [DEFAULT_PATH_ENV]);
    writeFileSync(join(dir, "config.json"), JSON.stringify({ process: { env: ["PATH=/x", "HOME=/root"] } }));
    assert.deepEqual(await bundleEnv(dir, false), ["PATH=/x", "HOME=/root"]);
  });
});

describe("cli: the daemon's last error", () => {
  it("finds the last error-level JSON line, or Node's crash report, in the log's end", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "husk-cli-log-"));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const log = join(dir, "daemon.log");
    assert.equal(lastDaemonError(log), undefined, "no log");
    const line = (entry: object): string => `${JSON.stringify(entry)}\n`;
    writeFileSync(log, line({ level: 30, msg: "shim daemon serving" }));
    assert.equal(lastDaemonError(log), undefined, "no error in it");
    writeFileSync(
      log,
      line({ level: 50, msg: "old" }) +
        line({ level: 60, msg: "shim daemon crashed", err: { message: "boom" } }) +
        line({ level: 30, msg: "later info" }),
    );
    assert.equal(lastDaemonError(log), "shim daemon crashed: boom");
    writeFileSync(
      log,
      `${line({ level: 30, msg: "serving" })}file:///x/start.js:21\nSyntaxError: no export named 'y'\n    at ModuleJob (node:internal)\n\nNode.js v20.20.2\n`,
    );
    assert.equal(lastDaemonError(log), "SyntaxError: no export named 'y'");
  });
});
