/**
 * The OCI driver against the real runc: the whole life of a container, exec, and the errors runc gives
 * for wrong states. Uses the reaper (no node:child_process in this file).
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadCgroup } from "../../../src/cgroups/index.js";
import { Code, isHuskError } from "../../../src/errors.js";
import { createOciRuntime, runtimeErrorDetails } from "../../../src/oci/index.js";
import { getReaper } from "../../../src/sys/index.js";
import { Harness, outputPipe, withTimeout } from "./harness.js";

const MiB = 1024 * 1024;
const WAIT_MS = 20_000;

function hasCode(code: number, pattern?: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(isHuskError(error), `expected a HuskError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  };
}

let h: Harness;
before(() => {
  h = new Harness("runc");
});
after(async () => {
  await h.cleanup();
});

describe("runc: container lifecycle", () => {
  it("create → start → ps → pause → resume → update → stats → kill → reaped 137 → stopped → delete", async () => {
    const c = await h.create("life", {
      args: ["sh", "-c", "echo ready; exec sleep 1000"],
      limits: { memoryBytes: 64 * MiB, pidsLimit: 50 },
    });
    assert.ok(c.pid > 0);
    const created = await h.runtime.state(c.id);
    assert.equal(created.status, "created");
    assert.equal(created.pid, c.pid);
    assert.equal(created.id, c.id);
    assert.equal(created.bundle, c.bundle);
    assert.ok(created.created instanceof Date);

    await h.runtime.start(c.id, { logFile: c.logFile });
    assert.equal((await h.runtime.state(c.id)).status, "running");
    // Non-terminal stdio: the init's stdout reaches our pipe.
    await c.output.waitFor("ready\n", WAIT_MS);

    assert.deepEqual(await h.runtime.ps(c.id), [c.pid]);

    await h.runtime.pause(c.id);
    assert.equal((await h.runtime.state(c.id)).status, "paused");
    await h.runtime.resume(c.id);
    assert.equal((await h.runtime.state(c.id)).status, "running");

    await h.runtime.update(c.id, { memory: { limit: 32 * MiB, swap: 32 * MiB } });
    const cgroup = await loadCgroup(c.pid);
    assert.ok(cgroup);
    const cgroupStats = await cgroup.stats();
    const limit =
      cgroupStats.version === 1
        ? cgroupStats.metrics.memory.usage.limit
        : cgroupStats.metrics.memory.usageLimit;
    assert.equal(limit, BigInt(32 * MiB));

    const stats = await h.runtime.stats(c.id);
    assert.ok(stats.pids.current >= 1n, `pids.current ${stats.pids.current}`);
    assert.equal(stats.pids.limit, 50n);
    assert.equal(stats.memory.usage.limit, BigInt(32 * MiB));
    assert.ok(stats.memory.usage.usage > 0n);
    assert.ok(stats.cpu.usage.total > 0n);

    await h.runtime.kill(c.id, 9);
    const exit = await withTimeout(c.exit, WAIT_MS, "the init's exit");
    assert.equal(exit.pid, c.pid);
    assert.equal(exit.status, 137);
    assert.equal(exit.signal, 9);
    assert.equal(await withTimeout(c.output.ended, WAIT_MS, "EOF on the output pipe"), "ready\n");

    const stopped = await h.runtime.state(c.id);
    assert.equal(stopped.status, "stopped");
    assert.equal(stopped.pid, 0);
    // Killing a reaped init: the process already finished.
    await assert.rejects(h.runtime.kill(c.id, 9), hasCode(Code.NotFound, /process already finished/));

    await h.runtime.delete(c.id, { logFile: c.logFile });
    await assert.rejects(h.runtime.state(c.id), hasCode(Code.NotFound, /container does not exist/));
    assert.ok(!(await h.runtime.list()).some((s) => s.id === c.id));
  });

  it("exec runs a process JSON; its exit comes from the reaper and its stdout through a pipe", async () => {
    const c = await h.run("exec", { args: ["sleep", "1000"] });
    const out = outputPipe();
    const capture = getReaper().capture();
    let pid: number;
    let exit: Promise<{ status: number }>;
    try {
      pid = await h.runtime.exec(c.id, {
        process: {
          user: { uid: 1000, gid: 1000 },
          args: ["sh", "-c", 'echo "exec-out $(id -u)"; exit 3'],
          env: ["PATH=/bin"],
          cwd: "/tmp",
        },
        pidFile: join(c.bundle, "e1.pid"),
        logFile: c.logFile,
        stdio: { stdin: "null", stdout: out.writeFd, stderr: out.writeFd },
        detach: true,
      });
      exit = capture.waitFor(pid);
    } finally {
      out.closeWriteEnd();
      capture.close();
    }
    assert.ok(pid > 0 && pid !== c.pid);
    assert.equal((await withTimeout(exit, WAIT_MS, "the exec's exit")).status, 3);
    assert.equal(await withTimeout(out.reader.ended, WAIT_MS, "EOF of the exec's output"), "exec-out 1000\n");
    // The container is unaffected.
    assert.equal((await h.runtime.state(c.id)).status, "running");
    await h.runtime.kill(c.id, 9);
    assert.equal((await withTimeout(c.exit, WAIT_MS, "the init's exit")).status, 137);
    await h.runtime.delete(c.id);
  });

  it("kill --all and SIGTERM reach the init's process tree", async () => {
    const c = await h.run("killall", {
      args: ["sh", "-c", "trap 'exit 42' TERM; echo armed; while true; do sleep 0.1; done"],
    });
    await c.output.waitFor("armed", WAIT_MS);
    await h.runtime.kill(c.id, 15, { all: true });
    assert.equal((await withTimeout(c.exit, WAIT_MS, "the init's exit")).status, 42);
    await h.runtime.delete(c.id);
  });
});

describe("runc: errors", () => {
  it("start twice → FailedPrecondition", async () => {
    const c = await h.run("twice", { args: ["sleep", "1000"] });
    await assert.rejects(
      h.runtime.start(c.id, { logFile: c.logFile }),
      hasCode(
        Code.FailedPrecondition,
        /runc start failed for container ".*": cannot start an already running container/,
      ),
    );
    await h.runtime.delete(c.id, { force: true });
    assert.equal((await withTimeout(c.exit, WAIT_MS, "the init's exit")).status, 137);
  });

  it("create with a duplicate id → AlreadyExists", async () => {
    const c = await h.create("dup", { args: ["sleep", "1000"] });
    const bundle = await h.bundle(`${c.id}-b`, { args: ["sleep", "1000"] });
    await assert.rejects(
      h.runtime.create(c.id, {
        bundle,
        pidFile: join(bundle, "init.pid"),
        logFile: join(bundle, "log.json"),
        stdio: { stdin: "null", stdout: "null", stderr: "null" },
      }),
      hasCode(Code.AlreadyExists, /container with given ID already exists/),
    );
    // The first container is untouched; a created container can be deleted without --force.
    assert.equal((await h.runtime.state(c.id)).status, "created");
    await h.runtime.delete(c.id);
    assert.equal((await withTimeout(c.exit, WAIT_MS, "the init's exit")).status, 137);
  });

  it("create with a missing executable → NotFound carrying runc's message", async () => {
    const id = h.nextId("noexec");
    const bundle = await h.bundle(id, { args: ["/nosuch"] });
    const error = await h.runtime
      .create(id, {
        bundle,
        pidFile: join(bundle, "init.pid"),
        logFile: join(bundle, "log.json"),
        stdio: { stdin: "null", stdout: "null", stderr: "null" },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(isHuskError(error));
    assert.equal(error.code, Code.NotFound);
    assert.equal(
      error.message,
      `runc create failed for container "${id}": runc create failed: unable to start container process: exec: "/nosuch": stat /nosuch: no such file or directory`,
    );
    assert.equal(runtimeErrorDetails(error)?.kind, "executable-not-found");
    await assert.rejects(h.runtime.state(id), hasCode(Code.NotFound));
  });

  it("delete of a running container → FailedPrecondition; of a missing one → NotFound; forced → ok", async () => {
    const c = await h.run("delrun", { args: ["sleep", "1000"] });
    await assert.rejects(
      h.runtime.delete(c.id),
      hasCode(Code.FailedPrecondition, /that is not stopped: running/),
    );
    await h.runtime.delete(c.id, { force: true });
    assert.equal((await withTimeout(c.exit, WAIT_MS, "the init's exit")).status, 137);
    await assert.rejects(h.runtime.delete(c.id), hasCode(Code.NotFound, /container does not exist/));
    await h.runtime.delete(c.id, { force: true });
  });

  it("pause of a paused container and resume of a running one → FailedPrecondition", async () => {
    const c = await h.run("pp", { args: ["sleep", "1000"] });
    await h.runtime.pause(c.id);
    await assert.rejects(h.runtime.pause(c.id), hasCode(Code.FailedPrecondition));
    await h.runtime.resume(c.id);
    await assert.rejects(h.runtime.resume(c.id), hasCode(Code.FailedPrecondition, /container not paused/));
    await h.runtime.delete(c.id, { force: true });
    assert.equal((await withTimeout(c.exit, WAIT_MS, "the init's exit")).status, 137);
  });

  it("a missing runtime binary → NotFound naming it", async () => {
    const missing = createOciRuntime({ binary: join(h.dir, "no-such-runc"), root: h.root });
    await assert.rejects(
      missing.state("c1"),
      hasCode(Code.NotFound, /^runtime binary ".*no-such-runc" not found$/),
    );
    const byName = createOciRuntime({ binary: "husk-no-such-runtime", root: h.root });
    await assert.rejects(
      byName.list(),
      hasCode(Code.NotFound, /runtime binary "husk-no-such-runtime" not found/),
    );
  });

  it("an invalid spec → InvalidArgument", async () => {
    const id = h.nextId("badcwd");
    const bundle = await h.bundle(id, { args: ["true"] });
    // Bypass our own validation to see runc's.
    const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as {
      process: { cwd: string };
    };
    config.process.cwd = "relative";
    writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
    await assert.rejects(
      h.runtime.create(id, {
        bundle,
        pidFile: join(bundle, "init.pid"),
        logFile: join(bundle, "log.json"),
        stdio: { stdin: "null", stdout: "null", stderr: "null" },
      }),
      hasCode(Code.InvalidArgument, /Cwd must be an absolute path/),
    );
  });
});

describe("runc: checkpoint and restore argv", () => {
  it("runc accepts our checkpoint flags (CRIU itself may be unusable on the host)", async () => {
    const c = await h.run("ckpt", { args: ["sleep", "1000"] });
    const imagePath = join(c.bundle, "image");
    const workPath = join(c.bundle, "work");
    const outcome = await h.runtime
      .checkpoint(c.id, { imagePath, workPath, leaveRunning: true, fileLocks: true, logFile: c.logFile })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    if (outcome !== undefined) {
      // On this VM `criu check` fails: runc ran CRIU (so our argv parsed) and reports its log path.
      assert.ok(isHuskError(outcome));
      assert.equal(outcome.code, Code.Unknown, outcome.message);
      assert.match(outcome.message, /^runc checkpoint failed for container ".*": criu failed/);
      assert.ok(outcome.message.includes(join(workPath, "dump.log")), outcome.message);
    }
    assert.equal((await h.runtime.state(c.id)).status, "running");
    await h.runtime.delete(c.id, { force: true });
    assert.equal((await withTimeout(c.exit, WAIT_MS, "the init's exit")).status, 137);
  });

  it("runc accepts our restore flags and reports a missing image", async () => {
    const id = h.nextId("restore");
    const bundle = await h.bundle(id, { args: ["sleep", "1000"] });
    const imagePath = join(bundle, "empty-image");
    mkdirSync(imagePath);
    await assert.rejects(
      h.runtime.restore(id, {
        bundle,
        imagePath,
        workPath: join(bundle, "work"),
        pidFile: join(bundle, "init.pid"),
        logFile: join(bundle, "log.json"),
        stdio: { stdin: "null", stdout: "null", stderr: "null" },
      }),
      hasCode(Code.Unknown, /descriptors\.json: no such file or directory/),
    );
  });
});
