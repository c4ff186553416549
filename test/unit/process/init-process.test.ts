/**
 * InitProcess behaviour beyond single cells: ordering of exits against in-flight operations, the
 * pausing window, kill and exit while paused, error pass-through, and waiter answers.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, isHuskError, notFound } from "../../../src/errors.js";
import { InitProcess, type InitState } from "../../../src/process/index.js";
import { FakeInitRuntime, outcomeOf, tick } from "./fake-runtime.js";

let counter = 0;
function newInit(options: { sandbox?: boolean } = {}) {
  counter += 1;
  const runtime = new FakeInitRuntime();
  const process = new InitProcess({
    id: `c-init-${counter}`,
    pid: 5000 + counter,
    sandbox: options.sandbox ?? false,
    runtime,
  });
  return { process, runtime };
}

/** Records every state the process shows at each runtime call and after each step. */
function stateTrail(process: InitProcess, runtime: FakeInitRuntime): InitState[] {
  const trail: InitState[] = [process.state];
  runtime.onCall = () => {
    trail.push(process.state);
  };
  return trail;
}

describe("InitProcess", () => {
  it("applies an exit that arrives during start after the start's transition", async () => {
    const { process, runtime } = newInit();
    const gate = runtime.hold("start");
    const starting = process.start();
    await gate.entered;
    const exitedAt = new Date(1_700_000_000_000);
    const exited = process.setExited(137, exitedAt);
    await tick();
    assert.equal(process.state, "created", "the exit waits for the start");
    assert.equal(process.exit, undefined);
    // Sample the state at every microtask turn until both settle, to see each transition.
    let settled = false;
    const seen: InitState[] = [];
    const sample = async () => {
      while (!settled) {
        if (seen.at(-1) !== process.state) seen.push(process.state);
        await Promise.resolve();
      }
    };
    const sampling = sample();
    gate.release();
    await starting;
    await exited;
    settled = true;
    await sampling;
    // Had the exit landed first, the start would have moved stopped → running and stayed there.
    assert.deepEqual(seen, ["created", "running", "stopped"]);
    assert.equal(process.state, "stopped");
    assert.deepEqual(await process.wait(), { status: 137, exitedAt });
  });

  it("lets a failed non-sandbox start win over an exit queued behind it", async () => {
    const { process, runtime } = newInit();
    const gate = runtime.hold("start");
    const starting = outcomeOf(process.start());
    await gate.entered;
    const exited = process.setExited(1);
    gate.fail(notFound("container gone"));
    const outcome = await starting;
    assert.equal(outcome.ok, false);
    await exited;
    assert.equal(process.state, "stopped");
    assert.equal((await process.wait()).status, 128);
    assert.deepEqual(runtime.calls, ["start", "closeIO"]);
  });

  it("keeps a sandbox created when its start fails, then takes the reaper's exit", async () => {
    const { process, runtime } = newInit({ sandbox: true });
    runtime.failWith("start", new Error("runc start failed"));
    const outcome = await outcomeOf(process.start());
    assert.equal(outcome.ok, false);
    assert.equal(process.state, "created");
    assert.equal(process.exit, undefined);
    assert.deepEqual(runtime.calls, ["start"], "a sandbox keeps its IO");
    await process.setExited(2);
    assert.equal(process.state, "stopped");
    assert.equal((await process.wait()).status, 2);
  });

  it("stops a failed non-sandbox start with 128, closes its IO, answers waiters and rethrows", async () => {
    const { process, runtime } = newInit();
    const waiting = process.wait();
    const failure = new Error("exec format error");
    runtime.failWith("start", failure);
    runtime.failWith("closeIO", new Error("close failed too"));
    const outcome = await outcomeOf(process.start());
    assert.equal(outcome.ok, false);
    const error = outcome.error;
    assert.ok(isHuskError(error));
    assert.equal(error.code, Code.Unknown);
    assert.equal(error.cause, failure, "the start error wins over the close error");
    assert.equal(error.message, `start container "${process.id}": exec format error`);
    assert.equal(process.state, "stopped");
    assert.equal((await waiting).status, 128);
    assert.ok((await waiting).exitedAt instanceof Date);
    assert.deepEqual(runtime.calls, ["start", "closeIO"]);
    // The reaper's exit that follows is ignored: the first recorded exit stays.
    await process.setExited(137);
    assert.equal(process.exit?.status, 128);
  });

  it("passes a runtime HuskError through unchanged and maps errno errors", async () => {
    const { process, runtime } = newInit();
    await process.start();
    const typed = notFound(`container "${process.id}": process already finished`);
    runtime.failWith("kill", typed);
    const first = await outcomeOf(process.kill(15));
    assert.equal(first.ok ? undefined : first.error, typed);
    runtime.failWith("kill", Object.assign(new Error("kill: no such process"), { code: "ESRCH" }));
    const second = await outcomeOf(process.kill(15));
    const error = second.ok ? undefined : second.error;
    assert.ok(isHuskError(error));
    assert.equal(error.code, Code.NotFound);
    assert.equal(error.message, `kill container "${process.id}": kill: no such process`);
  });

  it("shows pausing while runtime.pause is pending and ends paused", async () => {
    const { process, runtime } = newInit();
    await process.start();
    const gate = runtime.hold("pause");
    const pausing = process.pause();
    await gate.entered;
    assert.equal(process.state, "pausing");
    assert.equal(process.status, "pausing");
    assert.throws(
      () => {
        process.assertCanExec();
      },
      (e: unknown) => isHuskError(e) && e.code === Code.FailedPrecondition && e.message.includes("pausing"),
    );
    process.assertCanStat();
    process.assertCanResize();
    gate.release();
    await pausing;
    assert.equal(process.state, "paused");
  });

  it("restores running when the pause fails and rethrows the error", async () => {
    const { process, runtime } = newInit();
    await process.start();
    const gate = runtime.hold("pause");
    const pausing = outcomeOf(process.pause());
    await gate.entered;
    assert.equal(process.status, "pausing");
    const failure = notFound("container not running");
    gate.fail(failure);
    const outcome = await pausing;
    assert.equal(outcome.ok ? undefined : outcome.error, failure);
    assert.equal(process.state, "running");
    await process.pause();
    assert.equal(process.state, "paused", "a later pause works");
  });

  it("resumes after a SIGKILL to a paused container and stays paused until the exit", async () => {
    const { process, runtime } = newInit();
    await process.start();
    await process.pause();
    runtime.calls.length = 0;
    const trail = stateTrail(process, runtime);
    await process.kill(9);
    assert.deepEqual(runtime.calls, ["kill 9 false", "resume"]);
    assert.equal(process.state, "paused");
    await process.kill(9, true);
    assert.deepEqual(runtime.calls.slice(2), ["kill 9 true", "resume"]);
    assert.deepEqual(trail, ["paused", "paused", "paused", "paused", "paused"]);
    await process.setExited(137);
    assert.equal(process.state, "stopped");
    assert.deepEqual(runtime.calls.slice(4), ["resume"], "the exit thaws once more");
  });

  it("does not resume after SIGTERM, nor after a SIGKILL that failed", async () => {
    const { process, runtime } = newInit();
    await process.start();
    await process.pause();
    runtime.calls.length = 0;
    await process.kill(15);
    assert.deepEqual(runtime.calls, ["kill 15 false"]);
    runtime.failWith("kill", new Error("kill failed"));
    assert.equal((await outcomeOf(process.kill(9))).ok, false);
    assert.deepEqual(runtime.calls, ["kill 15 false", "kill 9 false"]);
    assert.equal(process.state, "paused");
  });

  it("ignores a failing best-effort resume after SIGKILL", async () => {
    const { process, runtime } = newInit();
    await process.start();
    await process.pause();
    runtime.failWith("resume", new Error("container not paused"));
    await process.kill(9);
    assert.equal(process.state, "paused");
  });

  it("thaws a paused container on exit, ignoring a failing resume, and ends stopped", async () => {
    const { process, runtime } = newInit();
    await process.start();
    await process.pause();
    runtime.calls.length = 0;
    runtime.failWith("resume", new Error("cgroup gone"));
    await process.setExited(137);
    assert.deepEqual(runtime.calls, ["resume"]);
    assert.equal(process.state, "stopped");
    assert.equal(process.status, "stopped");
    assert.equal((await process.wait()).status, 137);
  });

  it("records only the first exit; later setExited calls are no-ops, also after delete", async () => {
    const { process } = newInit();
    await process.start();
    const first = new Date(1000);
    await Promise.all([process.setExited(3, first), process.setExited(4), process.setExited(5)]);
    assert.deepEqual(process.exit, { status: 3, exitedAt: first });
    const exit = await process.delete();
    assert.equal(exit, process.exit);
    await process.setExited(6);
    assert.equal(process.state, "deleted");
    assert.equal(process.status, "stopped");
    assert.equal(await process.wait(), exit);
  });

  it("answers waiters with 128 when a created container is deleted", async () => {
    const { process, runtime } = newInit();
    const waiting = process.wait();
    const exit = await process.delete();
    assert.deepEqual(runtime.calls, ["delete"]);
    assert.equal(exit?.status, 128);
    assert.equal(await waiting, exit);
    assert.equal(process.state, "deleted");
  });

  it("keeps the state after a checkpoint that exits; the exit then arrives through setExited", async () => {
    const { process, runtime } = newInit();
    await process.start();
    await process.checkpoint({ imagePath: "/tmp/img", exit: true, openTcp: true });
    assert.deepEqual(runtime.calls, ["start", "checkpoint /tmp/img"]);
    assert.equal(process.state, "running");
    await process.setExited(0);
    assert.equal(process.state, "stopped");
  });

  it("runs operations fired together one at a time, in order", async () => {
    const { process, runtime } = newInit();
    runtime.policy = () => ({ ticks: 2 });
    const results = await Promise.allSettled([
      process.start(),
      process.pause(),
      process.update({}),
      process.resume(),
      process.kill(15),
      process.setExited(143),
      process.delete(),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "fulfilled", "fulfilled", "fulfilled", "fulfilled", "fulfilled", "fulfilled"],
    );
    assert.deepEqual(runtime.calls, ["start", "pause", "update", "resume", "kill 15 false", "delete"]);
    assert.equal(runtime.maxActive, 1, "never two runtime calls at once");
    assert.equal(process.state, "deleted");
    assert.equal(process.exit?.status, 143);
  });

  it("settles an operation queued behind a failing one", async () => {
    const { process, runtime } = newInit();
    runtime.failWith("start", new Error("boom"));
    const [start, kill] = await Promise.allSettled([process.start(), process.kill(1)]);
    assert.equal(start.status, "rejected");
    assert.equal(kill.status, "rejected");
    assert.ok(isHuskError(kill.reason));
    assert.equal(kill.reason.code, Code.NotFound, "the stopped container answers SIGHUP with NotFound");
  });
});
