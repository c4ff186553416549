// Starts the reaper: this file is its own process.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ExitStatus, getReaper, runCommand, spawn } from "../../../src/sys/index.js";
import { childrenOfSelf, eventually, openFdCount, withTimeout } from "./helpers.js";

const TIMEOUT_MS = 30_000;
let fdsBefore = 0;

/**
 * Like `runc create`: runs a short command that leaves a background process behind and prints its
 * pid, and returns that pid. The orphan waits until it has been re-parented to us (its ppid is no
 * longer the shell's), then sleeps `delay` seconds and exits with `code`. Waiting matters: a shell
 * that is still alive may reap its own exited background child, and then no exit reaches us.
 * With `holdOutput` the orphan keeps the shell's stdout/stderr, so runCommand resolves only after the
 * orphan exited; otherwise its output goes to /dev/null.
 */
async function leaveOrphan(
  code: number,
  options: { delay?: number; holdOutput?: boolean } = {},
): Promise<number> {
  const body = `while [ "$(cut -d" " -f4 /proc/$$/stat)" = "$1" ]; do sleep 0.01; done; sleep ${options.delay ?? 0}; exit ${code}`;
  const redirect = options.holdOutput === true ? "" : ">/dev/null 2>&1";
  const out = await runCommand("/bin/sh", ["-c", `sh -c '${body}' orphan $$ ${redirect} & echo $!`]);
  const pid = Number(out.stdout.toString().trim());
  assert.ok(Number.isInteger(pid) && pid > 0, `orphan pid from ${JSON.stringify(out.stdout.toString())}`);
  return pid;
}

before(async () => {
  const reaper = getReaper();
  // Warm up whatever the loop opens once (async handles), then count.
  await spawn({ file: "/bin/true" }).exit;
  assert.equal(reaper.waiting, 0);
  fdsBefore = openFdCount();
});

after(() => {
  assert.equal(openFdCount(), fdsBefore, "fd count after the tests equals the count before");
});

describe("reaper", () => {
  it("is a child subreaper and reaps a re-parented orphan as a stranger", async () => {
    const reaper = getReaper();
    const strangers: ExitStatus[] = [];
    const unsubscribe = reaper.onStranger((exit) => strangers.push(exit));
    try {
      // The subshell outlives sh: it is re-parented to us and exits 7 about 200 ms later.
      const child = spawn({ file: "/bin/sh", args: ["-c", "(sleep 0.2; exit 7) & exit 3"] });
      const exit = await withTimeout(child.exit, TIMEOUT_MS, "sh exit");
      assert.equal(exit.pid, child.pid);
      assert.equal(exit.status, 3);
      assert.equal(exit.signal, undefined);
      assert.ok(exit.exitedAt instanceof Date);
      await eventually(() => strangers.length > 0, TIMEOUT_MS, "the orphan's exit");
      assert.equal(strangers.length, 1);
      const [orphan] = strangers;
      assert.ok(orphan !== undefined);
      assert.equal(orphan.status, 7);
      assert.notEqual(orphan.pid, child.pid);
      assert.deepEqual(
        childrenOfSelf().filter((c) => c.state === "Z"),
        [],
        "no zombie children are left",
      );
    } finally {
      unsubscribe();
    }
  });

  it("buffers an early orphan exit in an open capture and hands it out once", async () => {
    const reaper = getReaper();
    const strangers: ExitStatus[] = [];
    const unsubscribe = reaper.onStranger((exit) => strangers.push(exit));
    const capture = reaper.capture();
    try {
      // The orphan holds the command's output, so it has exited before we learn its pid; make sure
      // its exit was also dispatched (exits are dispatched in reap order) before asking for it.
      const orphanPid = await leaveOrphan(5, { holdOutput: true });
      await eventually(() => !childrenOfSelf().some((c) => c.pid === orphanPid), TIMEOUT_MS, "orphan reaped");
      await withTimeout(spawn({ file: "/bin/true" }).exit, TIMEOUT_MS, "sentinel exit");
      const exit = await withTimeout(capture.waitFor(orphanPid), TIMEOUT_MS, "captured exit");
      assert.equal(exit.pid, orphanPid);
      assert.equal(exit.status, 5);
      assert.equal(strangers.length, 0, "a captured exit is not given to strangers");
    } finally {
      capture.close();
      unsubscribe();
    }
    assert.equal(strangers.length, 0, "a claimed exit is not handed out again on close");
  });

  it("waits in a capture for an exit that has not happened yet", async () => {
    const reaper = getReaper();
    const capture = reaper.capture();
    try {
      const orphanPid = await leaveOrphan(6, { delay: 0.3 });
      assert.equal((await withTimeout(capture.waitFor(orphanPid), TIMEOUT_MS, "orphan exit")).status, 6);
    } finally {
      capture.close();
    }
  });

  it("does not leak an exit reaped before it opened into a capture, and stops buffering when closed", async () => {
    const reaper = getReaper();
    const strangers: ExitStatus[] = [];
    const unsubscribe = reaper.onStranger((exit) => strangers.push(exit));
    try {
      const firstPid = await leaveOrphan(11, { delay: 0.2 });
      // Hold the JS thread until the reaper thread has reaped the orphan, so its exit is still queued
      // for dispatch when the capture opens: the generation tag must keep it out of the capture.
      const sleeper = new Int32Array(new SharedArrayBuffer(4));
      const deadline = Date.now() + TIMEOUT_MS;
      while (childrenOfSelf().some((c) => c.pid === firstPid)) {
        assert.ok(Date.now() < deadline, "the orphan was reaped");
        Atomics.wait(sleeper, 0, 0, 5);
      }
      const capture = reaper.capture();
      await eventually(() => strangers.some((e) => e.pid === firstPid), TIMEOUT_MS, "first stranger");
      assert.equal(strangers.find((e) => e.pid === firstPid)?.status, 11);

      const secondPid = await leaveOrphan(12);
      assert.equal((await withTimeout(capture.waitFor(secondPid), TIMEOUT_MS, "second exit")).status, 12);
      capture.close();
      capture.close(); // idempotent
      assert.equal(strangers.filter((e) => e.pid === firstPid).length, 1, "the first exit was not captured");
      assert.ok(!strangers.some((e) => e.pid === secondPid), "the claimed exit never reaches strangers");

      const thirdPid = await leaveOrphan(13);
      await eventually(() => strangers.some((e) => e.pid === thirdPid), TIMEOUT_MS, "third stranger");
      assert.equal(strangers.find((e) => e.pid === thirdPid)?.status, 13);
    } finally {
      unsubscribe();
    }
    assert.equal(getReaper().waiting, 0);
  });

  it("hands unclaimed captured exits to strangers on close, exactly once across captures", async () => {
    const reaper = getReaper();
    const strangers: ExitStatus[] = [];
    const unsubscribe = reaper.onStranger((exit) => strangers.push(exit));
    const a = reaper.capture();
    const b = reaper.capture();
    try {
      const pid = await leaveOrphan(21);
      // Both captures see it; nobody claims it.
      await eventually(() => childrenOfSelf().every((c) => c.pid !== pid), TIMEOUT_MS, "orphan reaped");
      // Exits are dispatched in reap order: once a later child's exit arrived, the orphan's did too.
      await withTimeout(spawn({ file: "/bin/true" }).exit, TIMEOUT_MS, "sentinel exit");
      a.close();
      assert.equal(strangers.filter((e) => e.pid === pid).length, 0, "b still holds it");
      b.close();
      assert.equal(strangers.filter((e) => e.pid === pid).length, 1);
    } finally {
      a.close();
      b.close();
      unsubscribe();
    }
  });

  it("leaves no zombie children behind", () => {
    assert.deepEqual(
      childrenOfSelf().filter((c) => c.state === "Z"),
      [],
    );
  });
});
