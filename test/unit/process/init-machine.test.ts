/**
 * Every cell of the init table: first the pure decideInit answers, then InitProcess executing each
 * cell from a state reached through real transitions, with the runtime succeeding and failing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import {
  decideInit,
  INIT_OP_KINDS,
  INIT_STATES,
  InitProcess,
  type InitState,
  initStatusOf,
} from "../../../src/process/index.js";
import { checkCell, injectedError } from "./check-cell.js";
import { FakeInitRuntime, outcomeOf, tick } from "./fake-runtime.js";
import { expectationFor, INIT_VARIANTS, type InitVariant } from "./init-table.js";

const ID = "c-table";

/** Builds an init and drives it into `state` through real operations (never by poking fields). */
async function initIn(
  state: Exclude<InitState, "pausing">,
  sandbox: boolean,
): Promise<{ process: InitProcess; runtime: FakeInitRuntime }> {
  const runtime = new FakeInitRuntime();
  const process = new InitProcess({ id: ID, pid: 4100, sandbox, runtime });
  if (state !== "created") await process.start();
  if (state === "paused") await process.pause();
  if (state === "stopped" || state === "deleted") await process.setExited(3);
  if (state === "deleted") await process.delete();
  assert.equal(process.state, state);
  runtime.calls.length = 0;
  return { process, runtime };
}

async function runCell(state: Exclude<InitState, "pausing">, variant: InitVariant, mode: "ok" | "fail") {
  const { process, runtime } = await initIn(state, variant.sandbox);
  const injected = injectedError(variant.failMethod);
  if (mode === "fail") runtime.failWith(variant.failMethod, injected);
  const stateBefore = process.state;
  const exitBefore = process.exit;
  const outcome = await outcomeOf(variant.invoke(process));
  await checkCell(expectationFor(state, variant.name), {
    mode,
    outcome,
    process,
    calls: runtime.calls,
    stateBefore,
    exitBefore,
    wrapContext: `${variant.failMethod} container "${ID}"`,
    injected,
  });
  assert.equal(process.status, initStatusOf(process.state));
}

describe("decideInit: the pure init table", () => {
  it("has a variant for every operation and an answer in every state", () => {
    assert.deepEqual(new Set(INIT_VARIANTS.map((v) => v.op.kind)), new Set(INIT_OP_KINDS));
    for (const state of INIT_STATES) {
      for (const variant of INIT_VARIANTS) {
        const decision = decideInit(state, variant.op, ID);
        assert.ok(["refuse", "succeed", "record-exit", "run"].includes(decision.kind));
      }
    }
  });

  for (const state of INIT_STATES) {
    for (const variant of INIT_VARIANTS) {
      it(`${state} × ${variant.name}`, () => {
        const decision = decideInit(state, variant.op, ID);
        const expected = expectationFor(state, variant.name);
        switch (expected.kind) {
          case "refuse":
            assert.equal(decision.kind, "refuse");
            assert.ok(isHuskError(decision.error));
            assert.equal(decision.error.code, expected.code);
            assert.ok(decision.error.message.includes(`"${ID}"`), "the message names the container");
            if (expected.code === Code.FailedPrecondition) {
              assert.ok(decision.error.message.includes(` ${state} `), "the message names the state");
            }
            return;
          case "noop":
            assert.deepEqual(decision, { kind: "succeed" });
            return;
          case "run":
            if (variant.op.kind === "setExited") {
              assert.deepEqual(decision, {
                kind: "record-exit",
                next: "stopped",
                thaw: expected.calls.includes("resume"),
              });
              return;
            }
            assert.equal(decision.kind, "run");
            assert.equal(decision.call.method, expected.calls[0]?.split(" ")[0]);
            assert.equal(decision.during, variant.op.kind === "pause" ? "pausing" : state);
            assert.equal(decision.onSuccess, expected.state);
            // A follow-up resume after the main call (kill SIGKILL while paused).
            assert.equal(decision.resumeAfter, expected.calls.slice(1).includes("resume"));
            assert.equal(decision.recordExitIfNone, expected.exit);
            if (expected.failed.state === "stopped" && state !== "stopped") {
              assert.deepEqual(decision.onFailure, {
                kind: "stop",
                exitStatus: expected.failed.exit,
                closeIO: expected.failed.calls.includes("closeIO"),
              });
            } else {
              assert.deepEqual(decision.onFailure, { kind: "restore" });
              // restore returns to the state before the call: pausing's before is running.
              assert.equal(expected.failed.state, variant.op.kind === "pause" ? "running" : state);
            }
            return;
        }
      });
    }
  }

  it("rejects signals outside 0..64 in every state with InvalidArgument", () => {
    for (const state of INIT_STATES) {
      for (const signal of [-1, 65, 1.5, Number.NaN]) {
        const decision = decideInit(state, { kind: "kill", signal, all: false }, ID);
        assert.equal(decision.kind, "refuse");
        assert.equal(decision.error.code, Code.InvalidArgument);
      }
    }
  });

  it("reports deleted as stopped and every other state as itself", () => {
    for (const state of INIT_STATES) {
      assert.equal(initStatusOf(state), state === "deleted" ? "stopped" : state);
    }
  });
});

describe("InitProcess: every cell, driven through real transitions", () => {
  for (const state of ["created", "running", "paused", "stopped", "deleted"] as const) {
    describe(state, () => {
      for (const variant of INIT_VARIANTS) {
        for (const mode of ["ok", "fail"] as const) {
          it(`${variant.name} (runtime ${mode})`, () => runCell(state, variant, mode));
        }
      }
    });
  }

  describe("pausing (a pause is in flight)", () => {
    for (const variant of INIT_VARIANTS) {
      if (variant.sync) {
        it(`${variant.name} answers at once from the pausing cell`, async () => {
          const { process, runtime } = await initIn("running", variant.sandbox);
          const gate = runtime.hold("pause");
          const pausing = process.pause();
          await gate.entered;
          assert.equal(process.state, "pausing");
          runtime.calls.length = 0;
          const outcome = await outcomeOf(variant.invoke(process));
          await checkCell(expectationFor("pausing", variant.name), {
            mode: "ok",
            outcome,
            process,
            calls: runtime.calls,
            stateBefore: "pausing",
            exitBefore: undefined,
            wrapContext: "",
            injected: undefined,
          });
          gate.release();
          await pausing;
        });
        continue;
      }
      for (const pauseEnds of ["paused", "running"] as const) {
        it(`${variant.name} waits for the pause, then acts as in ${pauseEnds}`, async () => {
          const { process, runtime } = await initIn("running", variant.sandbox);
          const gate = runtime.hold("pause");
          const pausing = outcomeOf(process.pause());
          await gate.entered;
          const queued = outcomeOf(variant.invoke(process));
          await tick();
          assert.deepEqual(runtime.calls, ["pause"], "the op must wait behind the pause");
          assert.equal(process.state, "pausing");
          if (pauseEnds === "paused") gate.release();
          else gate.fail(injectedError("pause"));
          assert.equal((await pausing).ok, pauseEnds === "paused");
          const outcome = await queued;
          await checkCell(expectationFor(pauseEnds, variant.name), {
            mode: "ok",
            outcome,
            process,
            calls: runtime.calls.slice(1),
            stateBefore: pauseEnds,
            exitBefore: undefined,
            wrapContext: "",
            injected: undefined,
          });
        });
      }
    }
  });
});
