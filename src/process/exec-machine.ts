/**
 * The exec process state machine as a pure, total table: {@link decideExec} answers every
 * (state × operation) cell, given the parent init's current status, with a {@link Decision} that
 * `ExecProcess` applies.
 *
 * husk's decided table (FP = FailedPrecondition, NF = NotFound; "run X" = call the runtime's X;
 * a failed runtime call leaves the state as it was and rethrows, unless the cell says otherwise):
 *
 * | op \ state | created | running | stopped | deleted |
 * |---|---|---|---|---|
 * | start | parent created or running: run start (gives the pid) → running; failure → close IO, record exit 128 (now), → stopped, rethrow. Parent pausing/paused/stopped → FP `container "<id>" is not running` | FP | FP | NF |
 * | delete | run delete (drain and close IO, remove the pid file) → deleted, recording exit 128 if none was | FP | run delete → deleted | NF |
 * | kill(sig) | FP "process not created" | run kill | SIGTERM/SIGKILL → success, no call; other → NF "process already finished" | same as stopped |
 * | resize(w, h) | run resize | run resize | FP | NF |
 * | closeIO | run closeIO | run closeIO | run closeIO | NF |
 * | setExited | record → stopped | record → stopped | no-op | no-op |
 *
 * A kill signal outside 0..64 (or not an integer) is InvalidArgument in every state; `all` does not
 * apply to execs. Status: when the parent is `paused` or `pausing` the exec reports the parent's
 * status; otherwise its state, with `deleted` shown as `stopped`.
 *
 * Where husk differs from containerd's runc shim: a failed start moves the exec to `stopped` with exit
 * 128 and answers every waiter with it (containerd leaves the exec `created` and releases waiters
 * with status 0 and no exit time, a state no later operation can leave cleanly); a stopped exec
 * killed with SIGTERM/SIGKILL succeeds (gVisor's rule); deleting a never-started exec records 128 so
 * no Wait caller hangs.
 *
 * containerd counterpart: `pkg/process` `exec_state.go`, `exec.go` (`Status`, `Kill`).
 */
import { failedPrecondition, invalidArgument, notFound } from "../errors.js";
import { assertNever, type Decision, type RecordExit, type Run, refuse, run, SUCCEED } from "./decision.js";
import { INTERNAL_START_FAILURE, isStopSignal, isValidSignal } from "./exit-status.js";
import type { InitStatus } from "./init-machine.js";

/** Every exec state, in lifecycle order. */
export const EXEC_STATES = ["created", "running", "stopped", "deleted"] as const;

/** An exec process state. `deleted` is reported as `stopped`. */
export type ExecState = (typeof EXEC_STATES)[number];

/** The status an exec reports on the wire (a paused parent's status shows through). */
export type ExecStatus = InitStatus;

/** An operation on an exec, with the arguments the table or the runtime call needs. */
export type ExecOp =
  | { readonly kind: "start" }
  | { readonly kind: "delete" }
  | { readonly kind: "kill"; readonly signal: number }
  | { readonly kind: "resize"; readonly width: number; readonly height: number }
  | { readonly kind: "closeIO" }
  | { readonly kind: "setExited" };

/** The name of an exec operation. */
export type ExecOpKind = ExecOp["kind"];

// A record keyed by every op kind, so that adding an op without listing it fails to compile.
const execOpKinds: Readonly<Record<ExecOpKind, true>> = {
  start: true,
  delete: true,
  kill: true,
  resize: true,
  closeIO: true,
  setExited: true,
};

/** Every exec operation name. */
export const EXEC_OP_KINDS: readonly ExecOpKind[] = Object.freeze(Object.keys(execOpKinds) as ExecOpKind[]);

/** A call on the exec's runtime (see `ExecRuntime`), with its arguments. */
export type ExecCall =
  | { readonly method: "start" }
  | { readonly method: "delete" }
  | { readonly method: "kill"; readonly signal: number }
  | { readonly method: "resize"; readonly width: number; readonly height: number }
  | { readonly method: "closeIO" };

/** One cell of the exec table. */
export type ExecDecision = Decision<ExecState, ExecCall>;

/** A runtime-call cell of the exec table. */
export type ExecRun = Run<ExecState, ExecCall>;

/** Names an exec in messages: its own id and its container's id. */
export interface ExecNames {
  readonly id: string;
  readonly containerId: string;
}

/** The wire status of an exec in `state` whose parent reports `parentStatus`. */
export function execStatusOf(state: ExecState, parentStatus: InitStatus): ExecStatus {
  if (parentStatus === "paused" || parentStatus === "pausing") return parentStatus;
  return state === "deleted" ? "stopped" : state;
}

/**
 * The decided answer to `op` in `state` for an exec whose parent init currently reports
 * `parentStatus`. Pure and total: every state and op has an answer.
 */
export function decideExec(
  state: ExecState,
  op: ExecOp,
  parentStatus: InitStatus,
  names: ExecNames,
): ExecDecision {
  const exec = `exec "${names.id}" in container "${names.containerId}"`;
  const cannot = (verb: string): ExecDecision =>
    refuse(failedPrecondition(`cannot ${verb} a ${state} ${exec}`));
  const gone = (verb: string): ExecDecision => refuse(notFound(`cannot ${verb} a deleted ${exec}`));
  switch (op.kind) {
    case "start":
      return decideStart(state, parentStatus, names.containerId, cannot, gone);
    case "delete":
      return decideDelete(state, cannot, gone);
    case "kill":
      return decideKill(state, op.signal, exec);
    case "resize":
      return decideResize(state, op.width, op.height, cannot, gone);
    case "closeIO":
      return state === "deleted" ? gone("close io of") : run({ method: "closeIO" }, state, state);
    case "setExited":
      return decideSetExited(state);
    default:
      return assertNever(op, "exec operation");
  }
}

function decideStart(
  state: ExecState,
  parentStatus: InitStatus,
  containerId: string,
  cannot: (verb: string) => ExecDecision,
  gone: (verb: string) => ExecDecision,
): ExecDecision {
  switch (state) {
    case "created":
      if (parentStatus !== "created" && parentStatus !== "running") {
        return refuse(failedPrecondition(`container "${containerId}" is not running`));
      }
      return run({ method: "start" }, "created", "running", {
        onFailure: { kind: "stop", exitStatus: INTERNAL_START_FAILURE, closeIO: true },
      });
    case "running":
    case "stopped":
      return cannot("start");
    case "deleted":
      return gone("start");
    default:
      return assertNever(state, "exec state");
  }
}

function decideDelete(
  state: ExecState,
  cannot: (verb: string) => ExecDecision,
  gone: (verb: string) => ExecDecision,
): ExecDecision {
  switch (state) {
    case "created":
      // Never started: record 128 so that no waiter hangs.
      return run({ method: "delete" }, "created", "deleted", { recordExitIfNone: INTERNAL_START_FAILURE });
    case "stopped":
      return run({ method: "delete" }, "stopped", "deleted");
    case "running":
      return cannot("delete");
    case "deleted":
      return gone("delete");
    default:
      return assertNever(state, "exec state");
  }
}

function decideKill(state: ExecState, signal: number, exec: string): ExecDecision {
  if (!isValidSignal(signal)) {
    return refuse(invalidArgument(`invalid signal ${String(signal)} for ${exec}`));
  }
  switch (state) {
    case "created":
      return refuse(failedPrecondition(`${exec}: process not created`));
    case "running":
      return run({ method: "kill", signal }, "running", "running");
    case "stopped":
    case "deleted":
      return isStopSignal(signal) ? SUCCEED : refuse(notFound(`${exec}: process already finished`));
    default:
      return assertNever(state, "exec state");
  }
}

function decideResize(
  state: ExecState,
  width: number,
  height: number,
  cannot: (verb: string) => ExecDecision,
  gone: (verb: string) => ExecDecision,
): ExecDecision {
  switch (state) {
    case "created":
    case "running":
      return run({ method: "resize", width, height }, state, state);
    case "stopped":
      return cannot("resize");
    case "deleted":
      return gone("resize");
    default:
      return assertNever(state, "exec state");
  }
}

const RECORD_EXIT: RecordExit = Object.freeze({ kind: "record-exit", next: "stopped", thaw: false });

function decideSetExited(state: ExecState): ExecDecision {
  switch (state) {
    case "created":
    case "running":
      return RECORD_EXIT;
    case "stopped":
    case "deleted":
      return SUCCEED;
    default:
      return assertNever(state, "exec state");
  }
}
