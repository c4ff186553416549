/**
 * Removing a container for good: kill it if asked (SIGKILL to every process, after a thaw if it is paused), wait for
 * its exit, Delete it in the daemon, remove its bundle directory, and tell the daemon with Shutdown, which lets a
 * daemon with no containers left exit by itself.
 *
 * containerd counterpart: `ctr task delete --force` (kill, wait, delete) followed by the shim's Shutdown.
 */
import { rm } from "node:fs/promises";
import { constants } from "node:os";
import { Code, failedPrecondition } from "../errors.js";
import { hasCode } from "./context.js";
import type { TaskClient } from "./daemon.js";
import type { RootLayout } from "./layout.js";
import { isLive, queryView } from "./state.js";

/** How long a SIGKILLed container may take to be reported as exited, in milliseconds. */
export const KILL_WAIT_MS = 30_000;

/** Options of {@link removeContainer}. */
export interface RemoveOptions {
  /** Kill a live container first; without it a running or paused container is refused (FailedPrecondition). */
  readonly force: boolean;
}

/**
 * Deletes `id` in the daemon (when the daemon knows it), removes its bundle directory, then sends Shutdown.
 * A container the daemon does not know only loses its directory.
 */
export async function removeContainer(
  task: TaskClient,
  layout: RootLayout,
  id: string,
  options: RemoveOptions,
): Promise<void> {
  const view = await queryView(task, id, layout.bundle(id));
  if (view.status !== "unknown") {
    if (isLive(view.status)) {
      if (!options.force) {
        throw failedPrecondition(
          `container "${id}" is ${view.status}: kill it first or use "husk delete -f ${id}"`,
        );
      }
      await killAndWait(task, id, view.status === "paused" || view.status === "pausing");
    }
    try {
      await task.delete({ id });
    } catch (error) {
      // Deleted concurrently: the goal is reached.
      if (!hasCode(error, Code.NotFound)) throw error;
    }
  }
  await rm(layout.bundle(id), { recursive: true, force: true });
  await shutdownQuietly(task, id);
}

/** SIGKILL to every process of the container, then wait (bounded) for the init's exit. */
export async function killAndWait(task: TaskClient, id: string, paused: boolean): Promise<void> {
  if (paused) {
    // A frozen process cannot die on cgroup v1; thaw it first (ignored if it is no longer paused).
    await task.resume({ id }).catch(() => undefined);
  }
  try {
    await task.kill({ id, signal: constants.signals.SIGKILL, all: true });
  } catch (error) {
    // The init exited meanwhile.
    if (!hasCode(error, Code.NotFound)) throw error;
  }
  await task.wait({ id }, { timeoutMs: KILL_WAIT_MS });
}

/** Shutdown lets an idle daemon exit; it is advice, so its failure (the daemon already gone) is ignored. */
export async function shutdownQuietly(task: TaskClient, id: string): Promise<void> {
  await task.shutdown({ id }).catch(() => undefined);
}
