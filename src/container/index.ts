export { type Container, type ContainerProcess, type ContainerState, execProcessSpec } from "./container.js";
export type { LifecycleEvent, LifecycleEventType } from "./events.js";
export type { Exec, ExecOptions, ExecState } from "./exec.js";
export {
  type CreateOptions,
  createSupervisor,
  type RuntimeSelection,
  type Supervisor,
  type SupervisorOptions,
} from "./supervisor.js";
