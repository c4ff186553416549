/**
 * Every cell of the exec table: the pure decideExec answers for every parent status, then
 * ExecProcess executing each cell from a state reached through real transitions, with the runtime
 * succeeding and failing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import {
  decideExec,
  EXEC_OP_KINDS,
  EXEC_STATES,
  ExecProcess,
  type ExecState,
  execStatusOf,
  type InitStatus,
} from "../../../src/process/index.js";
import { checkCell, injectedError } from "./check-cell.js";
import { EXEC_VARIANTS, type ExecVariant, execExpectationFor, PARENT_STATUSES } from "./exec-table.js";
import { FakeExecRuntime, outcomeOf } from "./fake-runtime.js";

const NAMES = { id: "e-table", containerId: "c-table" } as const;

/** A parent whose status the test sets directly (the exec only reads it). */
class StubParent {
  status: InitStatus = "running";
}

/** Builds an exec and drives it into `state` through real operations. */
async function execIn(state: ExecState) {
  const runtime = new FakeExecRuntime();
  const parent = new StubParent();
  const process = new ExecProcess({ ...NAMES, parent, runtime });
  if (state !== "created") assert.equal(await process.start(), runtime.pidToReturn);
  if (state === "stopped" || state === "deleted") await process.setExited(3);
  if (state === "deleted") await process.delete();
  assert.equal(process.state, state);
  runtime.calls.length = 0;
  return { process, runtime, parent };
}

async function runCell(
  state: ExecState,
  variant: ExecVariant,
  parentStatus: InitStatus,
  mode: "ok" | "fail",
) {
  const { process, runtime, parent } = await execIn(state);
  parent.status = parentStatus;
  const injected = injectedError(variant.failMethod);
  if (mode === "fail") runtime.failWith(variant.failMethod, injected);
  const stateBefore = process.state;
  const exitBefore = process.exit;
  const outcome = await outcomeOf(variant.invoke(process));
  await checkCell(execExpectationFor(state, variant.name), {
    mode,
    outcome,
    process,
    calls: runtime.calls,
    stateBefore,
    exitBefore,
    wrapContext: `${variant.failMethod} exec "${NAMES.id}" in container "${NAMES.containerId}"`,
    injected,
  });
  const shown =
    parentStatus === "paused" || parentStatus === "pausing"
      ? parentStatus
      : process.state === "deleted"
        ? "stopped"
        : process.state;
  assert.equal(process.status, shown);
}

describe("decideExec: the pure exec table", () => {
  it("has a variant for every operation and an answer in every state and parent status", () => {
    assert.deepEqual(new Set(EXEC_VARIANTS.map((v) => v.op.kind)), new Set(EXEC_OP_KINDS));
    for (const state of EXEC_STATES) {
      for (const parent of PARENT_STATUSES) {
        for (const variant of EXEC_VARIANTS) {
          const decision = decideExec(state, variant.op, parent, NAMES);
          assert.ok(["refuse", "succeed", "record-exit", "run"].includes(decision.kind));
        }
      }
    }
  });

  for (const state of EXEC_STATES) {
    for (const variant of EXEC_VARIANTS) {
      it(`${state} × ${variant.name}`, () => {
        const decision = decideExec(state, variant.op, variant.parent, NAMES);
        const expected = execExpectationFor(state, variant.name);
        switch (expected.kind) {
          case "refuse":
            assert.equal(decision.kind, "refuse");
            assert.ok(isHuskError(decision.error));
            assert.equal(decision.error.code, expected.code);
            assert.ok(
              decision.error.message.includes(`"${NAMES.containerId}"`),
              "the message names the container",
            );
            return;
          case "noop":
            assert.deepEqual(decision, { kind: "succeed" });
            return;
          case "run":
            if (variant.op.kind === "setExited") {
              assert.deepEqual(decision, { kind: "record-exit", next: "stopped", thaw: false });
              return;
            }
            assert.equal(decision.kind, "run");
            assert.equal(decision.call.method, expected.calls[0]?.split(" ")[0]);
            assert.equal(decision.during, state);
            assert.equal(decision.onSuccess, expected.state);
            assert.equal(decision.resumeAfter, false);
            assert.equal(decision.recordExitIfNone, expected.exit);
            if (expected.failed.state === "stopped" && state !== "stopped") {
              assert.deepEqual(decision.onFailure, { kind: "stop", exitStatus: 128, closeIO: true });
            } else {
              assert.deepEqual(decision.onFailure, { kind: "restore" });
              assert.equal(expected.failed.state, state);
            }
            return;
        }
      });
    }
  }

  it("answers every op but start the same whatever the parent's status", () => {
    for (const state of EXEC_STATES) {
      for (const variant of EXEC_VARIANTS.filter((v) => v.op.kind !== "start")) {
        const reference = decideExec(state, variant.op, "running", NAMES);
        for (const parent of PARENT_STATUSES) {
          const decision = decideExec(state, variant.op, parent, NAMES);
          assert.equal(decision.kind, reference.kind);
          if (decision.kind === "refuse" && reference.kind === "refuse") {
            assert.equal(decision.error.code, reference.error.code);
          } else {
            assert.deepEqual(decision, reference);
          }
        }
      }
    }
  });

  it("refuses start of a created exec in a container that is not running with the decided message", () => {
    for (const parent of ["pausing", "paused", "stopped"] as const) {
      const decision = decideExec("created", { kind: "start" }, parent, NAMES);
      assert.equal(decision.kind, "refuse");
      assert.equal(decision.error.code, Code.FailedPrecondition);
      assert.equal(decision.error.message, `container "${NAMES.containerId}" is not running`);
    }
  });

  it("rejects signals outside 0..64 in every state with InvalidArgument", () => {
    for (const state of EXEC_STATES) {
      for (const signal of [-1, 65, 2.5]) {
        const decision = decideExec(state, { kind: "kill", signal }, "running", NAMES);
        assert.equal(decision.kind, "refuse");
        assert.equal(decision.error.code, Code.InvalidArgument);
      }
    }
  });

  it("shows a paused or pausing parent's status, else its own with deleted as stopped", () => {
    for (const state of EXEC_STATES) {
      for (const parent of PARENT_STATUSES) {
        const own = state === "deleted" ? "stopped" : state;
        assert.equal(execStatusOf(state, parent), parent === "paused" || parent === "pausing" ? parent : own);
      }
    }
  });
});

describe("ExecProcess: every cell, driven through real transitions", () => {
  for (const state of EXEC_STATES) {
    describe(state, () => {
      for (const variant of EXEC_VARIANTS) {
        for (const mode of ["ok", "fail"] as const) {
          it(`${variant.name} (runtime ${mode})`, () => runCell(state, variant, variant.parent, mode));
        }
        if (variant.op.kind !== "start") {
          // The parent's status must not change the answer of any op but start.
          for (const parent of PARENT_STATUSES.filter((p) => p !== variant.parent)) {
            it(`${variant.name} with parent ${parent}`, () => runCell(state, variant, parent, "ok"));
          }
        }
      }
    });
  }
});
