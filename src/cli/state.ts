/**
 * A container's state as the CLI shows it (`husk state`, `husk list`): the daemon's StateResponse with the status as
 * a lower-case name, "unknown" when no running daemon knows the container, and JSON-friendly values.
 */
import { fromTimestamp, type StateResponse, TaskStatus } from "../api/index.js";
import { Code } from "../errors.js";
import { hasCode, isUnknownContainer } from "./context.js";
import type { TaskClient } from "./daemon.js";

/** A status name: the Task API's statuses, plus "unknown" for a container no running daemon knows. */
export type StatusName = "created" | "running" | "stopped" | "paused" | "pausing" | "unknown";

/** What `husk state` prints (as JSON) and `husk list` tabulates. */
export interface ContainerView {
  readonly id: string;
  /** The init's pid; null when unknown. */
  readonly pid: number | null;
  readonly status: StatusName;
  readonly bundle: string;
  /** The exit status once stopped (128+N after signal N), else null. */
  readonly exitStatus: number | null;
  /** ISO 8601 time of the exit, else null. */
  readonly exitedAt: string | null;
}

/** The name of a Task API status. */
export function statusName(status: TaskStatus): StatusName {
  switch (status) {
    case TaskStatus.CREATED:
      return "created";
    case TaskStatus.RUNNING:
      return "running";
    case TaskStatus.STOPPED:
      return "stopped";
    case TaskStatus.PAUSED:
      return "paused";
    case TaskStatus.PAUSING:
      return "pausing";
    default:
      return "unknown";
  }
}

/** The view of a StateResponse (`bundle` is used when the daemon reports none). */
export function viewOf(response: StateResponse, bundle: string): ContainerView {
  const status = statusName(response.status);
  const exitedAt = fromTimestamp(response.exitedAt);
  return {
    id: response.id,
    pid: response.pid === 0 ? null : response.pid,
    status,
    bundle: response.bundle === "" ? bundle : response.bundle,
    exitStatus: status === "stopped" ? response.exitStatus : null,
    exitedAt: exitedAt === undefined ? null : exitedAt.toISOString(),
  };
}

/** The view of a container no running daemon knows. */
export function unknownView(id: string, bundle: string): ContainerView {
  return { id, pid: null, status: "unknown", bundle, exitStatus: null, exitedAt: null };
}

/** Asks the daemon (if any) for `id`'s state; "unknown" when there is no daemon or it does not know `id`. */
export async function queryView(
  task: TaskClient | undefined,
  id: string,
  bundle: string,
): Promise<ContainerView> {
  if (task === undefined) return unknownView(id, bundle);
  try {
    return viewOf(await task.state({ id }), bundle);
  } catch (error) {
    if (isUnknownContainer(error, id) || hasCode(error, Code.NotFound)) return unknownView(id, bundle);
    throw error;
  }
}

/** True while the container's init has not exited (it must be killed before a delete). */
export function isLive(status: StatusName): boolean {
  return status === "running" || status === "paused" || status === "pausing";
}
