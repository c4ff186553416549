/**
 * husk's public API. Anything not exported here is internal and may change.
 *
 * For users: `createSupervisor()` runs and supervises OCI containers from Node with no daemon; `writeBundle()` makes
 * an OCI bundle from a root filesystem. For other libraries: the ttrpc server/client and containerd's wire types
 * (under `api`), the process state machines, and the OCI runtime driver.
 */

// --- for other libraries: the layers underneath --------------------------------------------------------------------
export * as api from "./api/index.js";
// --- for users: the library ---------------------------------------------------------------------------------------
export type { CgroupStats, MetricsV1, MetricsV2 } from "./cgroups/index.js";
export type {
  Container,
  ContainerProcess,
  ContainerState,
  CreateOptions,
  Exec,
  ExecOptions,
  ExecState,
  LifecycleEvent,
  LifecycleEventType,
  RuntimeSelection,
  Supervisor,
  SupervisorOptions,
} from "./container/index.js";
export { createSupervisor } from "./container/index.js";
export {
  Code,
  codeName,
  HuskError,
  isHuskError,
} from "./errors.js";
export type { Logger } from "./log.js";
export type {
  Bundle,
  ContainerLimits,
  LinuxResources,
  Process as OciProcess,
  Spec as OciSpec,
  SpecOptions,
} from "./oci/index.js";
export {
  createOciRuntime,
  defaultSpec,
  isValidContainerId,
  type OciRuntime,
  type OciRuntimeOptions,
  validateContainerId,
  writeBundle,
} from "./oci/index.js";
export type { CheckpointRequest, ExecStatus, InitStatus, ProcessExit } from "./process/index.js";
export {
  decideExec,
  decideInit,
  ExecProcess,
  type ExecRuntime,
  InitProcess,
  type InitRuntime,
} from "./process/index.js";
export type { LoggerSpec, ProcessIO, StdioSpec, StreamSpec } from "./stdio/index.js";
export {
  createTtrpcClient,
  createTtrpcServer,
  type ServiceImpl,
  type TtrpcClient,
  TtrpcError,
  type TtrpcServer,
} from "./ttrpc/index.js";
export { VERSION } from "./version.js";
