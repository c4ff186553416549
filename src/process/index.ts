/**
 * husk's process layer: the init and exec state machines (pure tables), the processes that apply
 * them over a runtime interface, and exit-status helpers. Knows nothing of protobuf, ttrpc or OCI.
 */
export type { Decision, FailurePlan, RecordExit, Refuse, Run, Succeed } from "./decision.js";
export {
  decideExec,
  EXEC_OP_KINDS,
  EXEC_STATES,
  type ExecCall,
  type ExecDecision,
  type ExecNames,
  type ExecOp,
  type ExecOpKind,
  type ExecRun,
  type ExecState,
  type ExecStatus,
  execStatusOf,
} from "./exec-machine.js";
export {
  type ExecParent,
  ExecProcess,
  type ExecProcessOptions,
  type ExecRuntime,
} from "./exec-process.js";
export { ExitLatch } from "./exit-latch.js";
export {
  INTERNAL_START_FAILURE,
  isStopSignal,
  isValidSignal,
  MAX_SIGNAL,
  SIGKILL,
  SIGNAL_EXIT_OFFSET,
  SIGTERM,
} from "./exit-status.js";
export {
  decideInit,
  INIT_OP_KINDS,
  INIT_STATES,
  type InitCall,
  type InitDecision,
  type InitOp,
  type InitOpKind,
  type InitRun,
  type InitState,
  type InitStatus,
  initStatusOf,
} from "./init-machine.js";
export {
  InitProcess,
  type InitProcessOptions,
  type InitRuntime,
} from "./init-process.js";
export { Mutex } from "./mutex.js";
export type { CheckpointRequest, ProcessExit } from "./types.js";
