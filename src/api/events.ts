/**
 * Event topics: which topic each `containerd.events.Task*` message is published under.
 *
 * containerd counterpart: `runtime/events.go` (`TaskCreateEventTopic`, …, `TaskUnknownTopic`) and
 * `runtime/v2/runc/task/service.go` (`getTopic`).
 */
import type { DescMessage } from "@bufbuild/protobuf";
import {
  TaskCheckpointedSchema,
  TaskCreateSchema,
  TaskDeleteSchema,
  TaskExecAddedSchema,
  TaskExecStartedSchema,
  TaskExitSchema,
  TaskOOMSchema,
  TaskPausedSchema,
  TaskResumedSchema,
  TaskStartSchema,
} from "../gen/containerd/events/task_pb.js";

/** Topic names of task events. */
export const TaskTopic = {
  Create: "/tasks/create",
  Start: "/tasks/start",
  Exit: "/tasks/exit",
  Delete: "/tasks/delete",
  OOM: "/tasks/oom",
  ExecAdded: "/tasks/exec-added",
  ExecStarted: "/tasks/exec-started",
  Paused: "/tasks/paused",
  Resumed: "/tasks/resumed",
  Checkpointed: "/tasks/checkpointed",
  /** Fallback for event types without a topic of their own. */
  Unknown: "/tasks/?",
} as const;
export type TaskTopic = (typeof TaskTopic)[keyof typeof TaskTopic];

const topics = new Map<string, TaskTopic>([
  [TaskCreateSchema.typeName, TaskTopic.Create],
  [TaskStartSchema.typeName, TaskTopic.Start],
  [TaskExitSchema.typeName, TaskTopic.Exit],
  [TaskDeleteSchema.typeName, TaskTopic.Delete],
  [TaskOOMSchema.typeName, TaskTopic.OOM],
  [TaskExecAddedSchema.typeName, TaskTopic.ExecAdded],
  [TaskExecStartedSchema.typeName, TaskTopic.ExecStarted],
  [TaskPausedSchema.typeName, TaskTopic.Paused],
  [TaskResumedSchema.typeName, TaskTopic.Resumed],
  [TaskCheckpointedSchema.typeName, TaskTopic.Checkpointed],
]);

/** The topic for an event message type (e.g. TaskExitSchema → "/tasks/exit"); "/tasks/?" for others. */
export function topicForEvent(schema: DescMessage): TaskTopic {
  return topics.get(schema.typeName) ?? TaskTopic.Unknown;
}
