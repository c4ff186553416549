import assert from "node:assert/strict";
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Code, isHuskError, notFound } from "../../../src/errors.js";
import {
  type CommandOptions,
  type CommandResult,
  createOciRuntimeWith,
  inferRuntimeKind,
} from "../../../src/oci/runtime.js";
import type { Process } from "../../../src/oci/spec.js";

const dir = mkdtempSync(join(tmpdir(), "husk-oci-runtime-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Call {
  readonly file: string;
  readonly args: readonly string[];
  readonly options: CommandOptions;
}

type Reply = Partial<Omit<CommandResult, "stdout" | "stderr">> & {
  stdout?: string;
  stderr?: string;
  /** Runs while the fake runtime "executes" (e.g. to append to the log, inspect files). */
  during?: (call: Call) => void;
};

/** A CommandRunner that records argv and answers from a script. */
function fakeRunner(replies: Reply[] = []) {
  const calls: Call[] = [];
  const run = (file: string, args: readonly string[], options: CommandOptions): Promise<CommandResult> => {
    const call = { file, args, options };
    calls.push(call);
    const reply = replies.shift() ?? {};
    reply.during?.(call);
    return Promise.resolve({
      pid: 4242,
      status: reply.status ?? 0,
      signal: reply.signal,
      stdout: Buffer.from(reply.stdout ?? ""),
      stderr: Buffer.from(reply.stderr ?? ""),
    });
  };
  return { run, calls };
}

function isCode(code: number) {
  return (error: unknown) => isHuskError(error) && error.code === code;
}

const PROCESS: Process = { user: { uid: 0, gid: 0 }, args: ["echo", "hi"], cwd: "/", env: ["PATH=/bin"] };

describe("OciRuntime argv", () => {
  it("infers the runtime kind from the binary's basename", () => {
    assert.equal(inferRuntimeKind("runc"), "runc");
    assert.equal(inferRuntimeKind("/usr/bin/crun"), "crun");
    assert.equal(inferRuntimeKind("/tmp/x/crun"), "crun");
    assert.equal(inferRuntimeKind("/usr/local/bin/runsc"), "runsc");
    assert.equal(inferRuntimeKind("/opt/my-runtime"), "runc");
  });

  it("runs create with the container's stdio, removes a stale pid file and returns the new pid", async () => {
    const pidFile = join(dir, "create.pid");
    writeFileSync(pidFile, "999");
    const fake = fakeRunner([
      {
        during: () => {
          assert.equal(existsSync(pidFile), false, "stale pid file must be removed before create");
          writeFileSync(pidFile, "1234");
        },
      },
    ]);
    const runtime = createOciRuntimeWith(fake.run, {
      root: "/run/husk",
      debug: true,
      env: { PATH: "/usr/bin", NOTIFY_SOCKET: "/run/systemd/notify", KEEP: "1" },
    });
    const pid = await runtime.create("c1", {
      bundle: "/b",
      pidFile,
      logFile: "/b/log.json",
      stdio: { stdin: "null", stdout: 7, stderr: 8 },
    });
    assert.equal(pid, 1234);
    const [call] = fake.calls;
    assert.ok(call);
    assert.equal(call.file, "runc");
    assert.deepEqual(call.args, [
      "--root",
      "/run/husk",
      "--debug",
      "--log",
      "/b/log.json",
      "--log-format",
      "json",
      "create",
      "--bundle",
      "/b",
      "--pid-file",
      pidFile,
      "c1",
    ]);
    assert.equal(call.options.stdin, "null");
    assert.equal(call.options.stdout, 7);
    assert.equal(call.options.stderr, 8);
    assert.deepEqual(call.options.env, { PATH: "/usr/bin", KEEP: "1" });
  });

  it("builds every other subcommand", async () => {
    const fake = fakeRunner([
      {}, // start
      { stdout: '{"id":"c1","pid":5,"status":"running","bundle":"/b"}' }, // state
      {}, // kill
      {}, // kill --all
      {}, // delete
      {}, // delete --force
      { stdout: "[5]\n" }, // ps
      {}, // pause
      {}, // resume
      {}, // update
      { stdout: '{"type":"stats","id":"c1","data":{"pids":{"current":2}}}\n' }, // events
      { stdout: "null" }, // list
    ]);
    const runtime = createOciRuntimeWith(fake.run, { binary: "/usr/sbin/runc", root: dir });
    await runtime.start("c1", { logFile: "/b/log.json" });
    assert.equal((await runtime.state("c1")).pid, 5);
    await runtime.kill("c1", 9);
    await runtime.kill("c1", 15, { all: true });
    await runtime.delete("c1");
    await runtime.delete("c1", { force: true });
    assert.deepEqual(await runtime.ps("c1"), [5]);
    await runtime.pause("c1");
    await runtime.resume("c1");
    await runtime.update("c1", { memory: { limit: 33554432 } });
    assert.equal((await runtime.stats("c1")).pids.current, 2n);
    assert.deepEqual(await runtime.list(), []);
    const sub = fake.calls.map((c) => c.args.slice(2));
    assert.deepEqual(sub, [
      ["--log", "/b/log.json", "--log-format", "json", "start", "c1"],
      ["state", "c1"],
      ["kill", "c1", "9"],
      ["kill", "--all", "c1", "15"],
      ["delete", "c1"],
      ["delete", "--force", "c1"],
      ["ps", "--format", "json", "c1"],
      ["pause", "c1"],
      ["resume", "c1"],
      ["update", "--resources", "-", "c1"],
      ["events", "--stats", "c1"],
      ["list", "--format", "json"],
    ]);
    assert.equal(fake.calls[9]?.options.input, '{"memory":{"limit":33554432}}');
    assert.ok(
      fake.calls.every((c) => c.file === "/usr/sbin/runc" && c.args[0] === "--root" && c.args[1] === dir),
    );
  });

  it("passes the exec process through a private temp file that is removed afterwards, also on failure", async () => {
    const pidFile = join(dir, "exec.pid");
    const logFile = join(dir, "exec-log.json");
    let seenFile = "";
    const inspect = (call: Call): void => {
      const index = call.args.indexOf("--process");
      seenFile = call.args[index + 1] ?? "";
      assert.equal(statSync(seenFile).mode & 0o777, 0o600);
      assert.deepEqual(JSON.parse(readFileSync(seenFile, "utf8")), PROCESS);
    };
    const fake = fakeRunner([
      {
        during: (call) => {
          inspect(call);
          writeFileSync(pidFile, "77\n");
        },
      },
      {
        status: 255,
        during: (call) => {
          inspect(call);
          appendFileSync(
            logFile,
            '{"level":"error","msg":"exec failed: unable to start container process: exec: \\"/nosuch\\": stat /nosuch: no such file or directory","time":"x"}\n',
          );
        },
      },
    ]);
    const runtime = createOciRuntimeWith(fake.run, { root: "/r" });
    const stdio = { stdin: 3, stdout: 4, stderr: 5 } as const;
    assert.equal(await runtime.exec("c1", { process: PROCESS, pidFile, logFile, stdio, detach: true }), 77);
    assert.equal(existsSync(seenFile), false);
    assert.deepEqual(fake.calls[0]?.args.slice(6), [
      "exec",
      "--process",
      seenFile,
      "--detach",
      "--pid-file",
      pidFile,
      "c1",
    ]);
    assert.equal(fake.calls[0].options.stdout, 4);
    await assert.rejects(
      runtime.exec("c1", { process: PROCESS, pidFile, logFile, stdio, detach: true }),
      (error: unknown) =>
        isHuskError(error) &&
        error.code === Code.NotFound &&
        error.message ===
          'runc exec failed for container "c1": exec failed: unable to start container process: exec: "/nosuch": stat /nosuch: no such file or directory',
    );
    assert.equal(existsSync(seenFile), false);
  });

  it("uses the runsc flag spelling", async () => {
    const fake = fakeRunner([{}]);
    const runtime = createOciRuntimeWith(fake.run, { binary: "/usr/local/bin/runsc", root: "/run/runsc" });
    assert.equal(runtime.kind, "runsc");
    await runtime.kill("c1", 9, { logFile: "/b/log.json" });
    assert.deepEqual(fake.calls[0]?.args, [
      "--root=/run/runsc",
      "--log=/b/log.json",
      "--log-format=json",
      "kill",
      "c1",
      "9",
    ]);
  });

  it("validates ids and signals before running anything", async () => {
    const fake = fakeRunner();
    const runtime = createOciRuntimeWith(fake.run, { root: "/r" });
    await assert.rejects(runtime.state("../x"), isCode(Code.InvalidArgument));
    await assert.rejects(runtime.kill("c1", 99), isCode(Code.InvalidArgument));
    await assert.rejects(runtime.kill("c1", 1.5), isCode(Code.InvalidArgument));
    assert.equal(fake.calls.length, 0);
  });
});

describe("OciRuntime errors", () => {
  it("reads only the error lines this invocation appended to the log", async () => {
    const logFile = join(dir, "shared-log.json");
    writeFileSync(logFile, '{"level":"error","msg":"container does not exist","time":"old"}\n');
    const fake = fakeRunner([
      {
        status: 1,
        stderr: "cannot start an already running container\n",
        during: () => {
          appendFileSync(
            logFile,
            '{"level":"error","msg":"cannot start an already running container","time":"new"}\n',
          );
        },
      },
      { status: 1, stderr: "" },
    ]);
    const runtime = createOciRuntimeWith(fake.run, { root: "/r" });
    await assert.rejects(
      runtime.start("c1", { logFile }),
      (error: unknown) =>
        isHuskError(error) &&
        error.code === Code.FailedPrecondition &&
        error.message === 'runc start failed for container "c1": cannot start an already running container',
    );
    // Nothing appended and nothing on stderr: the stale line must not be reported.
    await assert.rejects(
      runtime.start("c1", { logFile }),
      (error: unknown) =>
        isHuskError(error) && error.code === Code.Unknown && error.message.endsWith(": exit status 1"),
    );
  });

  it("falls back to stderr without a log file", async () => {
    const fake = fakeRunner([
      { status: 1, stderr: 'time="2026-11-30T03:18:46Z" level=error msg="container does not exist"\n' },
      { status: 253, stderr: "error opening file `/r/c9/status`: No such file or directory\n" },
    ]);
    const runtime = createOciRuntimeWith(fake.run, { root: "/r" });
    await assert.rejects(
      runtime.state("c9"),
      (error: unknown) =>
        isHuskError(error) &&
        error.code === Code.NotFound &&
        error.message === 'runc state failed for container "c9": container does not exist',
    );
    const crun = createOciRuntimeWith(fake.run, { binary: "crun", root: "/r" });
    await assert.rejects(crun.ps("c9"), isCode(Code.NotFound));
  });

  it("maps kill of a finished process to NotFound and pause of a paused container to FailedPrecondition", async () => {
    const fake = fakeRunner([
      { status: 1, stderr: "container not running" },
      { status: 1, stderr: "container not running" },
    ]);
    const runtime = createOciRuntimeWith(fake.run, { root: "/r" });
    await assert.rejects(
      runtime.kill("c1", 9),
      (e: unknown) =>
        isHuskError(e) && e.code === Code.NotFound && /process already finished/.test(e.message),
    );
    await assert.rejects(runtime.pause("c1"), isCode(Code.FailedPrecondition));
  });

  it("treats a forced delete of a missing container as success, a plain one as NotFound", async () => {
    const fake = fakeRunner([
      { status: 1, stderr: "cannot open directory '/r/c1': No such file or directory" },
      { status: 1, stderr: "cannot open directory '/r/c1': No such file or directory" },
    ]);
    const runtime = createOciRuntimeWith(fake.run, { binary: "crun", root: "/r" });
    await runtime.delete("c1", { force: true });
    await assert.rejects(runtime.delete("c1"), isCode(Code.NotFound));
  });

  it("reports a missing runtime binary as NotFound naming it", async () => {
    const runtime = createOciRuntimeWith(
      () => Promise.reject(notFound('executable "/nope/runc" not found')),
      {
        binary: "/nope/runc",
        root: "/r",
      },
    );
    await assert.rejects(
      runtime.state("c1"),
      (e: unknown) =>
        isHuskError(e) && e.code === Code.NotFound && e.message === 'runtime binary "/nope/runc" not found',
    );
  });

  it("answers NotImplemented for crun stats without running it", async () => {
    const fake = fakeRunner();
    const runtime = createOciRuntimeWith(fake.run, { binary: "/usr/bin/crun", root: "/r" });
    await assert.rejects(runtime.stats("c1"), isCode(Code.Unimplemented));
    assert.equal(fake.calls.length, 0);
  });

  it("lists nothing for a root that does not exist, without running the runtime", async () => {
    const fake = fakeRunner();
    const runtime = createOciRuntimeWith(fake.run, { root: join(dir, "no-such-root") });
    assert.deepEqual(await runtime.list(), []);
    assert.equal(fake.calls.length, 0);
  });
});
