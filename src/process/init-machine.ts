/**
 * The init process state machine as a pure, total table: {@link decideInit} answers every
 * (state × operation) cell with a {@link Decision} that `InitProcess` applies.
 *
 * husk's decided table (FP = FailedPrecondition, NF = NotFound; "run X" = call the runtime's X;
 * a failed runtime call returns to the state before it and rethrows, unless the cell says otherwise):
 *
 * | op \ state | created | running | pausing | paused | stopped | deleted |
 * |---|---|---|---|---|---|---|
 * | start | run start → running. Failure: not a sandbox → close IO, record exit 128 (now), → stopped; a sandbox → stay created. Rethrow either way | FP | FP | FP | FP | FP |
 * | delete | run delete → deleted, recording exit 128 if none was (waiters are answered); failure → stay | FP | FP | FP | run delete → deleted | NF |
 * | exec (may an exec be added?) | yes | yes | FP | FP | FP | FP |
 * | kill(sig, all) | run kill | run kill | run kill; SIGKILL → then resume best-effort; state stays | same as pausing | SIGTERM/SIGKILL → success, no call; other → NF "process already finished" | same as stopped |
 * | pause | FP | pausing while run pause → paused; failure → running | FP | FP | FP | FP |
 * | resume | FP | FP | FP | run resume → running | FP | FP |
 * | update(resources) | run update | run update | FP | run update | FP | FP |
 * | checkpoint(options) | FP | run checkpoint (state stays; with `exit` the process exits by itself later) | FP | run checkpoint | FP | FP |
 * | stat / pids | yes | yes | yes | yes | FP | FP |
 * | resize (console) | yes | yes | yes | yes | yes | FP |
 * | setExited | record → stopped | record → stopped | record → stopped, then resume best-effort (thaw) | same as pausing | no-op | no-op |
 *
 * A kill signal outside 0..64 (or not an integer) is InvalidArgument in every state. The wire status
 * is the state name, except that `deleted` reports `stopped`.
 *
 * Why these rules: containerd's runc shim for paused/pausing, Pause/Resume/Update/Checkpoint (so husk
 * is a drop-in for `io.containerd.runc.v2`); gVisor's shim for kill of a finished process (TERM/KILL
 * succeed) and for a failed non-sandbox start (stopped with 128, IO closed). SIGKILL while paused
 * resumes afterwards because a frozen cgroup-v1 task survives SIGKILL until thawed. Recording 128 when a
 * created init is deleted is husk's own rule: no Wait caller is left hanging.
 *
 * containerd counterpart: `pkg/process` `init_state.go`, `deleted_state.go`.
 */
import { failedPrecondition, invalidArgument, notFound } from "../errors.js";
import {
  assertNever,
  type Decision,
  type FailurePlan,
  type RecordExit,
  type Run,
  refuse,
  run,
  SUCCEED,
} from "./decision.js";
import { INTERNAL_START_FAILURE, isStopSignal, isValidSignal, SIGKILL } from "./exit-status.js";
import type { CheckpointRequest } from "./types.js";

/** Every init state, in lifecycle order. */
export const INIT_STATES = ["created", "running", "pausing", "paused", "stopped", "deleted"] as const;

/**
 * An init process state. `pausing` is a real state held while a Pause's runtime call is pending;
 * `deleted` exists in the machine but is reported as `stopped`.
 */
export type InitState = (typeof INIT_STATES)[number];

/** The status an init reports on the wire: its state, with `deleted` shown as `stopped`. */
export type InitStatus = Exclude<InitState, "deleted">;

/** An operation on the init, with the arguments the table or the runtime call needs. */
export type InitOp =
  | { readonly kind: "start"; readonly sandbox: boolean }
  | { readonly kind: "delete" }
  | { readonly kind: "exec" }
  | { readonly kind: "kill"; readonly signal: number; readonly all: boolean }
  | { readonly kind: "pause" }
  | { readonly kind: "resume" }
  | { readonly kind: "update"; readonly resources: unknown }
  | { readonly kind: "checkpoint"; readonly options: CheckpointRequest }
  | { readonly kind: "stat" }
  | { readonly kind: "resize" }
  | { readonly kind: "setExited" };

/** The name of an init operation. */
export type InitOpKind = InitOp["kind"];

// A record keyed by every op kind, so that adding an op without listing it fails to compile.
const initOpKinds: Readonly<Record<InitOpKind, true>> = {
  start: true,
  delete: true,
  exec: true,
  kill: true,
  pause: true,
  resume: true,
  update: true,
  checkpoint: true,
  stat: true,
  resize: true,
  setExited: true,
};

/** Every init operation name. */
export const INIT_OP_KINDS: readonly InitOpKind[] = Object.freeze(Object.keys(initOpKinds) as InitOpKind[]);

/** A call on the init's runtime (see `InitRuntime`), with its arguments. */
export type InitCall =
  | { readonly method: "start" }
  | { readonly method: "delete" }
  | { readonly method: "kill"; readonly signal: number; readonly all: boolean }
  | { readonly method: "pause" }
  | { readonly method: "resume" }
  | { readonly method: "update"; readonly resources: unknown }
  | { readonly method: "checkpoint"; readonly options: CheckpointRequest };

/** One cell of the init table. */
export type InitDecision = Decision<InitState, InitCall>;

/** A runtime-call cell of the init table. */
export type InitRun = Run<InitState, InitCall>;

/** The wire status of an init state. */
export function initStatusOf(state: InitState): InitStatus {
  return state === "deleted" ? "stopped" : state;
}

/**
 * The decided answer to `op` in `state` for the init of container `id` (the id only names the
 * container in error messages). Pure and total: every state and op has an answer.
 */
export function decideInit(state: InitState, op: InitOp, id: string): InitDecision {
  const container = `container "${id}"`;
  const cannot = (verb: string): InitDecision =>
    refuse(failedPrecondition(`cannot ${verb} a ${state} ${container}`));
  switch (op.kind) {
    case "start":
      return decideStart(state, op.sandbox, cannot);
    case "delete":
      return decideDelete(state, container, cannot);
    case "exec":
      return state === "created" || state === "running" ? SUCCEED : cannotExecIn(state, container);
    case "kill":
      return decideKill(state, op.signal, op.all, container);
    case "pause":
      return state === "running" ? run({ method: "pause" }, "pausing", "paused") : cannot("pause");
    case "resume":
      return state === "paused" ? run({ method: "resume" }, "paused", "running") : cannot("resume");
    case "update":
      return state === "created" || state === "running" || state === "paused"
        ? run({ method: "update", resources: op.resources }, state, state)
        : cannot("update");
    case "checkpoint":
      return state === "running" || state === "paused"
        ? run({ method: "checkpoint", options: op.options }, state, state)
        : cannot("checkpoint");
    case "stat":
      return state === "stopped" || state === "deleted" ? cannot("stat") : SUCCEED;
    case "resize":
      return state === "deleted" ? cannot("resize") : SUCCEED;
    case "setExited":
      return decideSetExited(state);
    default:
      return assertNever(op, "init operation");
  }
}

const STOP_WITH_INTERNAL_FAILURE: FailurePlan = Object.freeze({
  kind: "stop",
  exitStatus: INTERNAL_START_FAILURE,
  closeIO: true,
});

function decideStart(
  state: InitState,
  sandbox: boolean,
  cannot: (verb: string) => InitDecision,
): InitDecision {
  switch (state) {
    case "created":
      // A sandbox (pod) container stays created so its pod can be retried or torn down; any other
      // container is lost and must answer its waiters (gVisor's rule).
      return run({ method: "start" }, "created", "running", {
        onFailure: sandbox ? { kind: "restore" } : STOP_WITH_INTERNAL_FAILURE,
      });
    case "running":
    case "pausing":
    case "paused":
    case "stopped":
    case "deleted":
      return cannot("start");
    default:
      return assertNever(state, "init state");
  }
}

function decideDelete(
  state: InitState,
  container: string,
  cannot: (verb: string) => InitDecision,
): InitDecision {
  switch (state) {
    case "created":
      // Deleting a created container kills its waiting init; record 128 so no waiter hangs.
      return run({ method: "delete" }, "created", "deleted", { recordExitIfNone: INTERNAL_START_FAILURE });
    case "stopped":
      return run({ method: "delete" }, "stopped", "deleted");
    case "running":
    case "pausing":
    case "paused":
      return cannot("delete");
    case "deleted":
      return refuse(notFound(`cannot delete a deleted ${container}`));
    default:
      return assertNever(state, "init state");
  }
}

function cannotExecIn(state: InitState, container: string): InitDecision {
  return refuse(failedPrecondition(`cannot exec in a ${state} ${container}`));
}

function decideKill(state: InitState, signal: number, all: boolean, container: string): InitDecision {
  if (!isValidSignal(signal)) {
    return refuse(invalidArgument(`invalid signal ${String(signal)} for ${container}`));
  }
  const call: InitCall = { method: "kill", signal, all };
  switch (state) {
    case "created":
    case "running":
      return run(call, state, state);
    case "pausing":
    case "paused":
      // A frozen task keeps a pending SIGKILL until thawed: resume after the kill so it lands.
      // The state stays until the exit arrives (setExited thaws again, harmlessly).
      return run(call, state, state, { resumeAfter: signal === SIGKILL });
    case "stopped":
    case "deleted":
      return isStopSignal(signal) ? SUCCEED : refuse(notFound(`${container}: process already finished`));
    default:
      return assertNever(state, "init state");
  }
}

const RECORD_EXIT: RecordExit = Object.freeze({ kind: "record-exit", next: "stopped", thaw: false });
const RECORD_EXIT_AND_THAW: RecordExit = Object.freeze({ kind: "record-exit", next: "stopped", thaw: true });

function decideSetExited(state: InitState): InitDecision {
  switch (state) {
    case "created":
    case "running":
      return RECORD_EXIT;
    case "pausing":
    case "paused":
      // The cgroup may be frozen with the rest of the container in it: thaw it best-effort.
      return RECORD_EXIT_AND_THAW;
    case "stopped":
    case "deleted":
      return SUCCEED;
    default:
      return assertNever(state, "init state");
  }
}
