// Starts the reaper: this file is its own process.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ExitStatus, getReaper, spawn } from "../../../src/sys/index.js";
import { childrenOfSelf, eventually, openFdCount, withTimeout } from "./helpers.js";

const TIMEOUT_MS = 10_000;
let fdsBefore = 0;

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
      // Like `runc create`: the command prints the pid of a process it leaves behind, then exits.
      // The orphan exits at once, long before we learn its pid.
      const out = await import("../../../src/sys/index.js").then(({ runCommand }) =>
        runCommand("/bin/sh", ["-c", "sh -c 'exit 5' & echo $!"]),
      );
      const orphanPid = Number(out.stdout.toString().trim());
      assert.ok(orphanPid > 0);
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
      const { runCommand } = await import("../../../src/sys/index.js");
      const out = await runCommand("/bin/sh", ["-c", "sh -c 'sleep 0.3; exit 6' >/dev/null & echo $!"]);
      const orphanPid = Number(out.stdout.toString().trim());
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
      const { runCommand } = await import("../../../src/sys/index.js");
      const first = await runCommand("/bin/sh", ["-c", "sh -c 'sleep 0.2; exit 11' >/dev/null & echo $!"]);
      const firstPid = Number(first.stdout.toString().trim());
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

      const second = await runCommand("/bin/sh", ["-c", "sh -c 'exit 12' >/dev/null & echo $!"]);
      const secondPid = Number(second.stdout.toString().trim());
      assert.equal((await withTimeout(capture.waitFor(secondPid), TIMEOUT_MS, "second exit")).status, 12);
      capture.close();
      capture.close(); // idempotent
      assert.equal(strangers.filter((e) => e.pid === firstPid).length, 1, "the first exit was not captured");
      assert.ok(!strangers.some((e) => e.pid === secondPid), "the claimed exit never reaches strangers");

      const third = await runCommand("/bin/sh", ["-c", "sh -c 'exit 13' >/dev/null & echo $!"]);
      const thirdPid = Number(third.stdout.toString().trim());
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
      const { runCommand } = await import("../../../src/sys/index.js");
      const out = await runCommand("/bin/sh", ["-c", "sh -c 'exit 21' >/dev/null & echo $!"]);
      const pid = Number(out.stdout.toString().trim());
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
