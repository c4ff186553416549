/**
 * ExecProcess behaviour with a real InitProcess as parent: status mirroring a paused parent, start
 * refused when the container is not running, start failure answering waiters, exit ordering.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import { ExecProcess, InitProcess } from "../../../src/process/index.js";
import { FakeExecRuntime, FakeInitRuntime, outcomeOf, tick } from "./fake-runtime.js";

let counter = 0;
async function newContainer(options: { started?: boolean } = {}) {
  counter += 1;
  const initRuntime = new FakeInitRuntime();
  const init = new InitProcess({
    id: `c-exec-${counter}`,
    pid: 6000 + counter,
    sandbox: false,
    runtime: initRuntime,
  });
  if (options.started ?? true) await init.start();
  const runtime = new FakeExecRuntime();
  runtime.pidToReturn = 7000 + counter;
  const exec = new ExecProcess({ id: `e-${counter}`, containerId: init.id, parent: init, runtime });
  return { init, initRuntime, exec, runtime };
}

describe("ExecProcess", () => {
  it("mirrors a pausing and a paused parent, then shows its own status again", async () => {
    const { init, initRuntime, exec } = await newContainer();
    await exec.start();
    assert.equal(exec.status, "running");
    const gate = initRuntime.hold("pause");
    const pausing = init.pause();
    await gate.entered;
    assert.equal(exec.status, "pausing");
    gate.release();
    await pausing;
    assert.equal(exec.status, "paused");
    assert.equal(exec.state, "running", "the exec's own state is unchanged");
    await exec.setExited(0);
    assert.equal(exec.status, "paused", "a paused parent's status shows even for a stopped exec");
    await init.resume();
    assert.equal(exec.status, "stopped");
  });

  for (const parentState of ["pausing", "paused", "stopped", "deleted"] as const) {
    it(`refuses to start while the container is ${parentState}, without calling the runtime`, async () => {
      const { init, initRuntime, exec, runtime } = await newContainer();
      let finishPause = (): Promise<void> => Promise.resolve();
      if (parentState === "pausing") {
        const gate = initRuntime.hold("pause");
        const pausing = init.pause();
        await gate.entered;
        finishPause = () => {
          gate.release();
          return pausing;
        };
      } else if (parentState === "paused") {
        await init.pause();
      } else {
        await init.setExited(0);
        if (parentState === "deleted") await init.delete();
      }
      assert.equal(init.state, parentState);
      const outcome = await outcomeOf(exec.start());
      await finishPause();
      assert.equal(outcome.ok, false);
      const error = outcome.error;
      assert.ok(isHuskError(error));
      assert.equal(error.code, Code.FailedPrecondition);
      assert.equal(error.message, `container "${init.id}" is not running`);
      assert.deepEqual(runtime.calls, []);
      assert.equal(exec.state, "created");
      assert.equal(exec.pid, 0);
    });
  }

  it("starts in a created container and reports its pid", async () => {
    const { exec, runtime } = await newContainer({ started: false });
    assert.equal(exec.pid, 0);
    assert.equal(await exec.start(), runtime.pidToReturn);
    assert.equal(exec.pid, runtime.pidToReturn);
    assert.equal(exec.state, "running");
  });

  it("stops with 128 when the start fails, closes its IO, answers waiters and rethrows", async () => {
    const { exec, runtime } = await newContainer();
    const waiting = exec.wait();
    const failure = new Error("runc exec failed: no such file");
    runtime.failWith("start", failure);
    const outcome = await outcomeOf(exec.start());
    assert.equal(outcome.ok, false);
    const error = outcome.error;
    assert.ok(isHuskError(error));
    assert.equal(error.cause, failure);
    assert.equal(
      error.message,
      `start exec "${exec.id}" in container "${exec.containerId}": ${failure.message}`,
    );
    assert.equal(exec.state, "stopped");
    assert.equal(exec.pid, 0);
    assert.equal((await waiting).status, 128);
    assert.deepEqual(runtime.calls, ["start", "closeIO"]);
    // It can be deleted like any stopped exec, and delete returns the recorded exit.
    assert.equal(await exec.delete(), await waiting);
  });

  it("applies an exit that arrives during start after the transition to running", async () => {
    const { exec, runtime } = await newContainer();
    const gate = runtime.hold("start");
    const starting = exec.start();
    await gate.entered;
    const exited = exec.setExited(3);
    await tick();
    assert.equal(exec.state, "created");
    gate.release();
    assert.equal(await starting, runtime.pidToReturn);
    await exited;
    assert.equal(exec.state, "stopped");
    assert.equal((await exec.wait()).status, 3);
  });

  it("answers kill by state: not created, delivered, finished", async () => {
    const { exec, runtime } = await newContainer();
    const early = await outcomeOf(exec.kill(15));
    assert.ok(!early.ok && isHuskError(early.error) && early.error.code === Code.FailedPrecondition);
    await exec.start();
    await exec.kill(15);
    await exec.setExited(143);
    await exec.kill(9);
    const hup = await outcomeOf(exec.kill(1));
    assert.ok(!hup.ok && isHuskError(hup.error) && hup.error.code === Code.NotFound);
    assert.deepEqual(runtime.calls, ["start", "kill 15"]);
  });

  it("answers waiters with 128 when a never-started exec is deleted", async () => {
    const { exec, runtime } = await newContainer();
    const waiting = exec.wait();
    const exit = await exec.delete();
    assert.equal(exit?.status, 128);
    assert.equal(await waiting, exit);
    assert.deepEqual(runtime.calls, ["delete"]);
    const again = await outcomeOf(exec.delete());
    assert.ok(!again.ok && isHuskError(again.error) && again.error.code === Code.NotFound);
  });
});
