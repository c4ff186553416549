/**
 * cgroup v1 memory OOM notification through an eventfd registered in `cgroup.event_control`.
 *
 * containerd counterpart: `pkg/oom/v1` (`New`, `Add`, `Run`) with containerd/cgroups v1
 * `memoryController.OOMEventFD` / `registerMemoryEvent`.
 */
import { closeSync, existsSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HuskError, notFound } from "../errors.js";
import { native } from "./native.js";

/** A running watch; close it when the cgroup is gone or no longer of interest. */
export interface EventWatch {
  /** Idempotent. Stops polling and closes the eventfd. */
  close(): void;
}

/**
 * eventfd + open(<dir>/memory.oom_control) + write "<efd> <ofd>" to <dir>/cgroup.event_control
 * (then closes the oom_control fd: the kernel holds its own reference); uv_poll on the eventfd;
 * onEvent(counter) on the JS thread for every read. One exception, as in containerd: the kernel also
 * signals the eventfd when the cgroup is removed, so when `memoryCgroupDir` no longer exists the
 * watch closes itself instead of reporting an OOM. Throws NotFound if the cgroup dir is missing.
 * Closing is idempotent. The watch does not keep the event loop alive (uv_unref). JS thread only.
 */
export function watchMemoryOomV1(memoryCgroupDir: string, onEvent: (count: number) => void): EventWatch {
  if (!existsSync(memoryCgroupDir)) throw notFound(`memory cgroup "${memoryCgroupDir}" not found`);
  const binding = native();
  const efd = binding.eventfd();
  let oomControl: number | undefined;
  try {
    oomControl = openSync(join(memoryCgroupDir, "memory.oom_control"), "r");
    writeFileSync(join(memoryCgroupDir, "cgroup.event_control"), `${efd} ${oomControl}`);
  } catch (error) {
    closeSync(efd);
    throw HuskError.from(error, `watch OOM of memory cgroup "${memoryCgroupDir}"`);
  } finally {
    if (oomControl !== undefined) closeSync(oomControl);
  }
  let closed = false;
  // The native watcher owns efd from here on.
  const watcher = new binding.EventfdWatch(efd, (count) => {
    if (closed) return;
    if (!existsSync(memoryCgroupDir)) {
      close();
      return;
    }
    onEvent(count);
  });
  const close = (): void => {
    if (closed) return;
    closed = true;
    watcher.close();
  };
  return { close };
}
