/**
 * The OCI driver against crun 1.8.1 through the test wrapper (private mount namespace + cgroup2 +
 * `--cgroup-manager=disabled`, see test/support/crun.ts). Without cgroups crun cannot pause or list
 * processes: those must fail with clear typed errors. Uses the reaper (no node:child_process).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import { getReaper } from "../../../src/sys/index.js";
import { crunAvailable, makeCrunWrapper } from "../../support/crun.js";
import { Harness, outputPipe, withTimeout } from "./harness.js";

const WAIT_MS = 20_000;

function hasCode(code: number, pattern?: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(isHuskError(error), `expected a HuskError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  };
}

let h: Harness | undefined;
before(() => {
  const dir = mkdtempSync(join(tmpdir(), "husk-it-crun-"));
  try {
    h = new Harness("crun", { dir, binary: makeCrunWrapper(dir) });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
});
after(async () => {
  await h?.cleanup();
});

function harness(): Harness {
  assert.ok(h, "the harness was set up");
  return h;
}

describe("crun (through the wrapper)", { skip: crunAvailable() ? false : "crun is not installed" }, () => {
  it("is driven as crun", () => {
    assert.equal(harness().runtime.kind, "crun");
  });

  it("create → start → exec → kill → reaped 137 → delete", async () => {
    const h = harness();
    const c = await h.create("life", { args: ["sh", "-c", "echo crun-ready; exec sleep 1000"] });
    const created = await h.runtime.state(c.id);
    assert.equal(created.status, "created");
    assert.equal(created.pid, c.pid);
    await h.runtime.start(c.id, { logFile: c.logFile });
    await c.output.waitFor("crun-ready\n", WAIT_MS);
    assert.equal((await h.runtime.state(c.id)).status, "running");

    const out = outputPipe();
    const capture = getReaper().capture();
    let exit: Promise<{ status: number }>;
    try {
      const pid = await h.runtime.exec(c.id, {
        process: {
          user: { uid: 0, gid: 0 },
          args: ["sh", "-c", "echo crun-exec; exit 5"],
          env: ["PATH=/bin"],
          cwd: "/",
        },
        pidFile: join(c.bundle, "e1.pid"),
        logFile: c.logFile,
        stdio: { stdin: "null", stdout: out.writeFd, stderr: out.writeFd },
        detach: true,
      });
      assert.ok(pid > 0);
      exit = capture.waitFor(pid);
    } finally {
      out.closeWriteEnd();
      capture.close();
    }
    assert.equal((await withTimeout(exit, WAIT_MS, "the exec's exit")).status, 5);
    assert.equal(await withTimeout(out.reader.ended, WAIT_MS, "EOF of the exec's output"), "crun-exec\n");

    await h.runtime.kill(c.id, 9);
    const initExit = await withTimeout(c.exit, WAIT_MS, "the init's exit");
    assert.equal(initExit.status, 137);
    assert.equal((await h.runtime.state(c.id)).status, "stopped");
    // crun: the reaped init has no pidfd any more.
    await assert.rejects(h.runtime.kill(c.id, 9), hasCode(Code.NotFound, /process already finished/));
    await h.runtime.delete(c.id, { logFile: c.logFile });
    await assert.rejects(h.runtime.state(c.id), hasCode(Code.NotFound, /container does not exist/));
    await h.runtime.delete(c.id, { force: true });
  });

  it("pause, ps and stats give typed errors without cgroups", async () => {
    const h = harness();
    const c = await h.run("nocg", { args: ["sleep", "1000"] });
    await assert.rejects(
      h.runtime.pause(c.id, { logFile: c.logFile }),
      hasCode(
        Code.FailedPrecondition,
        /crun pause failed for container ".*": cannot pause the container without a cgroup/,
      ),
    );
    await assert.rejects(
      h.runtime.ps(c.id),
      hasCode(Code.FailedPrecondition, /the container is not using cgroups/),
    );
    await assert.rejects(h.runtime.stats(c.id), hasCode(Code.Unimplemented, /crun has no "events" command/));
    await h.runtime.delete(c.id, { force: true });
    assert.equal((await withTimeout(c.exit, WAIT_MS, "the init's exit")).status, 137);
  });

  it("maps crun's own wording: duplicate id, start twice, delete while running, missing container", async () => {
    const h = harness();
    const c = await h.run("errs", { args: ["sleep", "1000"] });
    await assert.rejects(
      h.runtime.create(c.id, {
        bundle: c.bundle,
        pidFile: join(c.bundle, "again.pid"),
        logFile: c.logFile,
        stdio: { stdin: "null", stdout: "null", stderr: "null" },
      }),
      hasCode(Code.AlreadyExists, /already exists/),
    );
    await assert.rejects(
      h.runtime.start(c.id, { logFile: c.logFile }),
      hasCode(Code.FailedPrecondition, /exec\.fifo/),
    );
    await assert.rejects(
      h.runtime.delete(c.id, { logFile: c.logFile }),
      hasCode(Code.FailedPrecondition, /is not in `created` or `stopped` state/),
    );
    await h.runtime.delete(c.id, { force: true });
    assert.equal((await withTimeout(c.exit, WAIT_MS, "the init's exit")).status, 137);
    await assert.rejects(h.runtime.delete(c.id), hasCode(Code.NotFound, /container does not exist/));
    await assert.rejects(h.runtime.kill(c.id, 9), hasCode(Code.NotFound, /container does not exist/));
  });

  it("a failed exec → NotFound with crun's message (crun's helper child is reaped as a stranger)", async () => {
    const h = harness();
    const c = await h.run("execfail", { args: ["sleep", "1000"] });
    let unsubscribe = (): void => undefined;
    const strangerExit = new Promise<number>((resolve) => {
      unsubscribe = getReaper().onStranger((exit) => {
        resolve(exit.status);
      });
    });
    await assert.rejects(
      h.runtime.exec(c.id, {
        process: { user: { uid: 0, gid: 0 }, args: ["/nosuch"], env: ["PATH=/bin"], cwd: "/" },
        pidFile: join(c.bundle, "e2.pid"),
        logFile: c.logFile,
        stdio: { stdin: "null", stdout: "null", stderr: "null" },
        detach: true,
      }),
      hasCode(Code.NotFound, /crun exec failed for container ".*": executable file `\/nosuch` not found/),
    );
    try {
      // The helper crun leaves behind is re-parented to us and exits 1: the reaper hands it to strangers.
      assert.equal(await withTimeout(strangerExit, WAIT_MS, "crun's helper to exit"), 1);
    } finally {
      unsubscribe();
    }
    assert.equal((await h.runtime.state(c.id)).status, "running");
    await h.runtime.delete(c.id, { force: true });
    assert.equal((await withTimeout(c.exit, WAIT_MS, "the init's exit")).status, 137);
  });

  it("a missing executable → NotFound with crun's message", async () => {
    const h = harness();
    const id = h.nextId("noexec");
    const bundle = await h.bundle(id, { args: ["/nosuch"] });
    await assert.rejects(
      h.runtime.create(id, {
        bundle,
        pidFile: join(bundle, "init.pid"),
        logFile: join(bundle, "log.json"),
        stdio: { stdin: "null", stdout: "null", stderr: "null" },
      }),
      hasCode(Code.NotFound, /executable file `\/nosuch` not found/),
    );
  });
});
