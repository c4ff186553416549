/**
 * The shape of a state-machine decision, shared by the init and exec machines. A decision is plain
 * data: what to answer, which runtime call to make, and which state follows success or failure.
 * The executors (`InitProcess`, `ExecProcess`) apply it; tests enumerate it cell by cell.
 */
import { type HuskError, HuskError as HuskErrorClass, internalError, isHuskError } from "../errors.js";

/** Refuse the operation with this typed error; no runtime call, no state change. */
export interface Refuse {
  readonly kind: "refuse";
  readonly error: HuskError;
}

/** The operation succeeds with nothing to do: no runtime call, no state change. */
export interface Succeed {
  readonly kind: "succeed";
}

/**
 * An exit arrived for a live process: record it (first exit wins), answer the waiters, move to
 * `next`; then, when `thaw`, resume the runtime container best-effort (its error is ignored).
 */
export interface RecordExit {
  readonly kind: "record-exit";
  readonly next: "stopped";
  readonly thaw: boolean;
}

/** What follows a failed runtime call. The error is always rethrown. */
export type FailurePlan =
  /** Return to the state held before the call (undoing any `during` state). */
  | { readonly kind: "restore" }
  /**
   * The process is lost: close its IO (best-effort) when `closeIO`, record exit `exitStatus` with
   * the time now, move to `stopped`. husk's answer to a failed start.
   */
  | { readonly kind: "stop"; readonly exitStatus: number; readonly closeIO: boolean };

/**
 * Make runtime call `call`. While it is pending the state is `during` (the current state, except
 * `pausing` for a pause). On success the state becomes `onSuccess`; then, when
 * `recordExitIfNone` is a number and no exit is recorded yet, that exit status is recorded (so
 * waiters of a process deleted before it ran are answered); then, when `resumeAfter`, the runtime
 * container is resumed best-effort. On failure `onFailure` applies.
 */
export interface Run<S extends string, C> {
  readonly kind: "run";
  readonly call: C;
  readonly during: S;
  readonly onSuccess: S;
  readonly onFailure: FailurePlan;
  readonly resumeAfter: boolean;
  readonly recordExitIfNone: number | undefined;
}

/** One cell of a state machine table: the answer to one operation in one state. */
export type Decision<S extends string, C> = Refuse | Succeed | RecordExit | Run<S, C>;

/** Builds a {@link Run} with the common defaults (no resume, no exit recording, restore on failure). */
export function run<S extends string, C>(
  call: C,
  during: S,
  onSuccess: S,
  extra: Partial<Pick<Run<S, C>, "onFailure" | "resumeAfter" | "recordExitIfNone">> = {},
): Run<S, C> {
  return {
    kind: "run",
    call,
    during,
    onSuccess,
    onFailure: extra.onFailure ?? RESTORE,
    resumeAfter: extra.resumeAfter ?? false,
    recordExitIfNone: extra.recordExitIfNone,
  };
}

/** The shared `restore` failure plan. */
export const RESTORE: FailurePlan = Object.freeze({ kind: "restore" });

/** The shared `succeed` decision. */
export const SUCCEED: Succeed = Object.freeze({ kind: "succeed" });

/** Builds a {@link Refuse}. */
export function refuse(error: HuskError): Refuse {
  return { kind: "refuse", error };
}

/**
 * The error an executor rethrows when a runtime call fails: a HuskError passes through unchanged
 * (the runtime layer already classified it, e.g. NotFound for a finished process); anything else is
 * converted with `context` (`"<op> <object>"`) in front of its message.
 */
export function runtimeFailure(error: unknown, context: string): HuskError {
  return isHuskError(error) ? error : HuskErrorClass.from(error, context);
}

/** Compile-time exhaustiveness check for switches over unions; throws Internal if reached at run time. */
export function assertNever(value: never, what: string): never {
  throw internalError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
