/**
 * Shared assertions for one executed table cell: the result class (typed error, runtime calls made,
 * or no-op), the resulting state, the exit and whether wait() has resolved.
 */
import assert from "node:assert/strict";
import { Code, isHuskError } from "../../../src/errors.js";
import type { ProcessExit } from "../../../src/process/index.js";
import { tick } from "./fake-runtime.js";
import type { Expectation } from "./init-table.js";

/** The error the failure mode injects: a plain Error, which the executor must wrap as Unknown. */
export function injectedError(method: string): Error {
  return new Error(`injected ${method} failure`);
}

/** A process as the checks see it. */
export interface Observed<S extends string> {
  readonly state: S;
  readonly exit: ProcessExit | undefined;
  wait(): Promise<ProcessExit>;
}

/** What happened when the cell ran. */
export interface CellRun<S extends string> {
  readonly mode: "ok" | "fail";
  readonly outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  readonly process: Observed<S>;
  readonly calls: readonly string[];
  readonly stateBefore: S;
  readonly exitBefore: ProcessExit | undefined;
  /** Text every wrapped runtime error must start with (`"<method> container \"id\""`). */
  readonly wrapContext: string;
  readonly injected: unknown;
}

/** Asserts that `run` matches `expected`. */
export async function checkCell<S extends string>(expected: Expectation<S>, run: CellRun<S>): Promise<void> {
  const { outcome, process } = run;
  switch (expected.kind) {
    case "refuse": {
      assert.equal(outcome.ok, false, "the op must be refused");
      const error = outcome.error;
      assert.ok(isHuskError(error), `refusal must be a HuskError, got ${String(error)}`);
      assert.equal(error.code, expected.code, `code of "${error.message}"`);
      assert.deepEqual(run.calls, [], "a refusal makes no runtime call");
      assert.equal(process.state, run.stateBefore);
      assert.equal(process.exit, run.exitBefore);
      break;
    }
    case "noop": {
      assert.ok(outcome.ok, `the op must succeed: ${outcome.ok ? "" : String(outcome.error)}`);
      assert.deepEqual(run.calls, [], "a no-op makes no runtime call");
      assert.equal(process.state, run.stateBefore);
      assert.equal(process.exit, run.exitBefore);
      break;
    }
    case "run": {
      const target = run.mode === "fail" ? expected.failed : { ...expected, rejects: false };
      if (target.rejects) {
        assert.equal(outcome.ok, false, "the failed runtime call must be rethrown");
        const error = outcome.error;
        assert.ok(isHuskError(error), "a runtime failure must surface as a HuskError");
        assert.equal(error.code, Code.Unknown);
        assert.equal(error.cause, run.injected, "the wrapped error keeps the runtime error as cause");
        assert.ok(
          error.message.startsWith(run.wrapContext),
          `"${error.message}" should start with "${run.wrapContext}"`,
        );
      } else {
        assert.ok(outcome.ok, `the op must succeed: ${outcome.ok ? "" : String(outcome.error)}`);
      }
      assert.deepEqual(run.calls, target.calls);
      assert.equal(process.state, target.state);
      if (target.exit === undefined) {
        assert.equal(process.exit, run.exitBefore, "the exit must not change");
      } else {
        assert.equal(process.exit?.status, target.exit);
      }
      break;
    }
  }
  await assertWaitMatchesExit(process);
}

/** wait() has resolved exactly when an exit is recorded, and with that exit. */
export async function assertWaitMatchesExit<S extends string>(process: Observed<S>): Promise<void> {
  const pending = Symbol("pending");
  const waited = await Promise.race([process.wait(), tick().then(() => pending)]);
  if (process.exit === undefined) {
    assert.equal(waited, pending, "wait() must not resolve before an exit is recorded");
  } else {
    assert.equal(waited, process.exit, "wait() resolves with the recorded exit");
  }
}
