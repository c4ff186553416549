import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  buildGlobalArgs,
  checkpointArgs,
  createArgs,
  deleteArgs,
  execArgs,
  killArgs,
  restoreArgs,
} from "../../../src/oci/args.js";

describe("buildGlobalArgs", () => {
  it("orders runc flags like containerd: root, debug, log, log-format, systemd-cgroup, extras", () => {
    assert.deepEqual(
      buildGlobalArgs({
        kind: "runc",
        root: "/run/husk/runc/ns",
        debug: true,
        logFile: "/b/log.json",
        systemdCgroup: true,
        globalArgs: ["--rootless=false"],
      }),
      [
        "--root",
        "/run/husk/runc/ns",
        "--debug",
        "--log",
        "/b/log.json",
        "--log-format",
        "json",
        "--systemd-cgroup",
        "--rootless=false",
      ],
    );
  });

  it("omits what is not set, including --log-format without --log", () => {
    assert.deepEqual(buildGlobalArgs({ kind: "crun", root: "/r" }), ["--root", "/r"]);
    assert.deepEqual(
      buildGlobalArgs({ kind: "crun", root: "/r", globalArgs: ["--cgroup-manager=disabled"] }),
      ["--root", "/r", "--cgroup-manager=disabled"],
    );
  });

  it("spells runsc flags as --flag=value", () => {
    assert.deepEqual(
      buildGlobalArgs({ kind: "runsc", root: "/run/runsc", debug: true, logFile: "/b/log.json" }),
      ["--root=/run/runsc", "--debug", "--log=/b/log.json", "--log-format=json"],
    );
  });
});

describe("subcommand argv", () => {
  it("create", () => {
    assert.deepEqual(createArgs("c1", { bundle: "/b", pidFile: "/b/init.pid" }), [
      "create",
      "--bundle",
      "/b",
      "--pid-file",
      "/b/init.pid",
      "c1",
    ]);
    assert.deepEqual(
      createArgs("c1", {
        bundle: "/b",
        pidFile: "/p",
        consoleSocket: "/s.sock",
        noPivot: true,
        noNewKeyring: true,
        preserveFds: 2,
      }),
      [
        "create",
        "--bundle",
        "/b",
        "--pid-file",
        "/p",
        "--console-socket",
        "/s.sock",
        "--no-pivot",
        "--no-new-keyring",
        "--preserve-fds",
        "2",
        "c1",
      ],
    );
  });

  it("exec is always detached", () => {
    assert.deepEqual(
      execArgs("c1", { processFile: "/t/p.json", pidFile: "/b/e1.pid", consoleSocket: "/s" }),
      [
        "exec",
        "--process",
        "/t/p.json",
        "--detach",
        "--pid-file",
        "/b/e1.pid",
        "--console-socket",
        "/s",
        "c1",
      ],
    );
  });

  it("kill passes the signal as a number after the id; delete takes --force before it", () => {
    assert.deepEqual(killArgs("c1", 9, false), ["kill", "c1", "9"]);
    assert.deepEqual(killArgs("c1", 15, true), ["kill", "--all", "c1", "15"]);
    assert.deepEqual(deleteArgs("c1", false), ["delete", "c1"]);
    assert.deepEqual(deleteArgs("c1", true), ["delete", "--force", "c1"]);
  });

  it("checkpoint and restore follow containerd's CRIU flags", () => {
    assert.deepEqual(
      checkpointArgs("c1", {
        imagePath: "/img",
        workPath: "/b/work/criu-work",
        parentPath: "/parent",
        tcpEstablished: true,
        extUnixSockets: true,
        shellJob: true,
        fileLocks: true,
        emptyNamespaces: ["network"],
        leaveRunning: true,
      }),
      [
        "checkpoint",
        "--image-path",
        "/img",
        "--work-path",
        "/b/work/criu-work",
        "--parent-path",
        "/parent",
        "--tcp-established",
        "--ext-unix-sk",
        "--shell-job",
        "--file-locks",
        "--empty-ns",
        "network",
        "--leave-running",
        "c1",
      ],
    );
    assert.deepEqual(
      restoreArgs("c1", {
        imagePath: "/img",
        workPath: "/b/work",
        bundle: "/b",
        pidFile: "/b/init.pid",
        consoleSocket: "/s",
        noPivot: true,
      }),
      [
        "restore",
        "--image-path",
        "/img",
        "--work-path",
        "/b/work",
        "--detach",
        "--pid-file",
        "/b/init.pid",
        "--console-socket",
        "/s",
        "--no-pivot",
        "--no-subreaper",
        "--bundle",
        "/b",
        "c1",
      ],
    );
  });
});
