/**
 * containerd's wire types as husk generates them from its own `proto/` files, under the names the
 * shim uses, plus the Any and Timestamp helpers containerd's conventions need.
 *
 * Generated modules (protobuf-es, `npm run gen`): `src/gen/containerd/task/v2/shim_pb.ts` (task
 * service), `src/gen/containerd/events/task_pb.ts` (events), `src/gen/containerd/services/events/ttrpc/v1/events_pb.ts`
 * (events service), `src/gen/containerd/types/{mount_pb,task/task_pb}.ts`, `src/gen/containerd/runc/v1/options_pb.ts`,
 * `src/gen/containerd/linux/runc/runc_pb.ts`, `src/gen/runtimeoptions/v1/options_pb.ts`, `src/gen/cgroups/v{1,2}/metrics_pb.ts`.
 */
import { createRegistry, type Registry } from "@bufbuild/protobuf";
import { file_google_protobuf_empty, file_google_protobuf_timestamp } from "@bufbuild/protobuf/wkt";
import { file_cgroups_v1_metrics } from "../gen/cgroups/v1/metrics_pb.js";
import { file_cgroups_v2_metrics } from "../gen/cgroups/v2/metrics_pb.js";
import { file_containerd_events_task } from "../gen/containerd/events/task_pb.js";
import { file_containerd_linux_runc_runc } from "../gen/containerd/linux/runc/runc_pb.js";
import { file_containerd_runc_v1_options } from "../gen/containerd/runc/v1/options_pb.js";
import { file_containerd_services_events_ttrpc_v1_events } from "../gen/containerd/services/events/ttrpc/v1/events_pb.js";
import { file_containerd_task_v2_shim } from "../gen/containerd/task/v2/shim_pb.js";
import { file_containerd_types_mount } from "../gen/containerd/types/mount_pb.js";
import { file_containerd_types_task_task } from "../gen/containerd/types/task/task_pb.js";
import { file_runtimeoptions_v1_options } from "../gen/runtimeoptions/v1/options_pb.js";

export * as cgroupsV1 from "../gen/cgroups/v1/metrics_pb.js";
export {
  type Metrics as CgroupsV1Metrics,
  MetricsSchema as CgroupsV1MetricsSchema,
} from "../gen/cgroups/v1/metrics_pb.js";
export * as cgroupsV2 from "../gen/cgroups/v2/metrics_pb.js";
export {
  type Metrics as CgroupsV2Metrics,
  MetricsSchema as CgroupsV2MetricsSchema,
} from "../gen/cgroups/v2/metrics_pb.js";
// Events: TaskCreate, TaskStart, TaskExit, TaskDelete, TaskOOM, TaskExecAdded, TaskExecStarted,
// TaskPaused, TaskResumed, TaskCheckpointed, TaskIO (each with its …Schema).
export * from "../gen/containerd/events/task_pb.js";
export * as legacyRunc from "../gen/containerd/linux/runc/runc_pb.js";
export {
  type CheckpointOptions as RuncCheckpointOptions,
  CheckpointOptionsSchema as RuncCheckpointOptionsSchema,
  type Options as RuncOptions,
  OptionsSchema as RuncOptionsSchema,
  type ProcessDetails as RuncProcessDetails,
  ProcessDetailsSchema as RuncProcessDetailsSchema,
} from "../gen/containerd/runc/v1/options_pb.js";
export {
  type Envelope,
  EnvelopeSchema,
  Events as EventsService,
  type ForwardRequest,
  ForwardRequestSchema,
} from "../gen/containerd/services/events/ttrpc/v1/events_pb.js";
// Task service messages: CreateTaskRequest, StateResponse, … (each with its …Schema).
export * from "../gen/containerd/task/v2/shim_pb.js";
export { Task as TaskService } from "../gen/containerd/task/v2/shim_pb.js";
export { type Mount, MountSchema } from "../gen/containerd/types/mount_pb.js";
export {
  type Process,
  type ProcessInfo,
  ProcessInfoSchema,
  ProcessSchema,
  Status as TaskStatus,
  StatusSchema as TaskStatusSchema,
} from "../gen/containerd/types/task/task_pb.js";
export {
  type Options as RuntimeOptions,
  OptionsSchema as RuntimeOptionsSchema,
} from "../gen/runtimeoptions/v1/options_pb.js";
export { anyTypeName, OciTypeUrl, packAny, packJsonAny, unpackAny, unpackJsonAny } from "./any.js";
export { TaskTopic, topicForEvent } from "./events.js";
export { fromTimestamp, GO_ZERO_TIME, GO_ZERO_TIME_SECONDS, isGoZeroTime, toTimestamp } from "./timestamp.js";

/**
 * Every containerd message husk knows (task API, events, options, metrics), for {@link unpackAny}
 * with a registry and for JSON conversion of Any fields.
 */
export const apiRegistry: Registry = createRegistry(
  file_containerd_task_v2_shim,
  file_containerd_types_mount,
  file_containerd_types_task_task,
  file_containerd_events_task,
  file_containerd_services_events_ttrpc_v1_events,
  file_containerd_runc_v1_options,
  file_containerd_linux_runc_runc,
  file_runtimeoptions_v1_options,
  file_cgroups_v1_metrics,
  file_cgroups_v2_metrics,
  file_google_protobuf_empty,
  file_google_protobuf_timestamp,
);
