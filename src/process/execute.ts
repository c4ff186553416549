/**
 * Applying a {@link Run} decision, shared by the init and exec executors: enter the `during` state, make the runtime
 * call, then either move to `onSuccess` (recording an exit or thawing if the decision says so) or apply the failure
 * plan and rethrow. Runs under the caller's process mutex.
 */
import type { HuskError } from "../errors.js";
import { type FailurePlan, type Run, runtimeFailure } from "./decision.js";
import type { ExitLatch } from "./exit-latch.js";

/** What an executor lends {@link executeRun}: its state, its exit, and its runtime. */
export interface RunHost<S extends string, C> {
  getState(): S;
  setState(state: S | "stopped"): void;
  readonly latch: ExitLatch;
  /** Makes the runtime call; a start resolves with the pid it learned, anything else with undefined. */
  invoke(call: C): Promise<number | undefined>;
  /** `"<op> <object>"`, the context a non-husk runtime error is wrapped with. */
  describe(call: C): string;
  closeIO(): Promise<void>;
  resume(): Promise<void>;
}

/** Applies `decision`; resolves with the runtime call's pid (start), rejects with the typed runtime failure. */
export async function executeRun<S extends string, C>(
  host: RunHost<S, C>,
  decision: Run<S, C>,
): Promise<number | undefined> {
  const before = host.getState();
  host.setState(decision.during);
  let pid: number | undefined;
  try {
    // Called in the same tick as the decision, so the state it was taken on still holds.
    pid = await host.invoke(decision.call);
  } catch (error) {
    const failure: HuskError = runtimeFailure(error, host.describe(decision.call));
    await applyFailure(host, decision.onFailure, before);
    throw failure;
  }
  host.setState(decision.onSuccess);
  if (decision.recordExitIfNone !== undefined) {
    host.latch.record({ status: decision.recordExitIfNone, exitedAt: new Date() });
  }
  if (decision.resumeAfter) await bestEffort(() => host.resume());
  return pid;
}

async function applyFailure<S extends string, C>(
  host: RunHost<S, C>,
  plan: FailurePlan,
  before: S,
): Promise<void> {
  switch (plan.kind) {
    case "restore":
      host.setState(before);
      return;
    case "stop":
      if (plan.closeIO) await bestEffort(() => host.closeIO());
      host.latch.record({ status: plan.exitStatus, exitedAt: new Date() });
      host.setState("stopped");
      return;
  }
}

/** Follow-up calls (thaw, close IO) whose failure must not mask the outcome: the transition already happened. */
export async function bestEffort(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch {
    // Ignored by decision.
  }
}
