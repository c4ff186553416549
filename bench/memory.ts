/**
 * Memory of the shim processes that serve a set of containers: each container's init is a child of its shim (the shim
 * is its subreaper), so the distinct parents of the init pids are exactly the shim processes serving them.
 */
import { readFileSync } from "node:fs";
import type { Containerd } from "../test/e2e/support/containerd.js";
import { parentPid, readCmdline } from "../test/e2e/support/procfs.js";
import { listTasks } from "../test/e2e/support/tasks.js";

/** RSS, PSS and USS (private pages: what exiting would free) in KiB, from /proc/PID/smaps_rollup. */
export interface MemoryUse {
  readonly rssKiB: number;
  readonly pssKiB: number;
  readonly ussKiB: number;
}

/** Summed memory of the shims serving some containers. */
export interface ShimMemory extends MemoryUse {
  /** Distinct shim processes. */
  readonly shims: number;
  /** Containers they serve (those asked for). */
  readonly containers: number;
}

/** One process's RSS and PSS; throws when it is gone. */
export function readMemory(pid: number): MemoryUse {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
    if (match === null) throw new Error(`no ${name} in /proc/${pid}/smaps_rollup`);
    return Number(match[1]);
  };
  return {
    rssKiB: field("Rss"),
    pssKiB: field("Pss"),
    ussKiB: field("Private_Clean") + field("Private_Dirty"),
  };
}

/**
 * Finds the shims serving `ids` (the parents of their init processes, checked to be this containerd's shims by the
 * `-address` in their argv) and sums
 * their memory. Throws if a container has no running task or its parent is not a shim.
 */
export async function shimMemory(containerd: Containerd, ids: readonly string[]): Promise<ShimMemory> {
  const tasks = new Map((await listTasks(containerd)).map((row) => [row.id, row]));
  const shims = new Set<number>();
  for (const id of ids) {
    const task = tasks.get(id);
    if (task === undefined || task.status !== "RUNNING") throw new Error(`container ${id} is not running`);
    const shim = parentPid(task.pid);
    const argv = shim === undefined ? undefined : readCmdline(shim);
    // A shim daemon of this containerd carries `-address <its socket>` (runc-v2 and husk alike).
    const isShim = argv?.some((arg, i) => arg === "-address" && argv[i + 1] === containerd.address) ?? false;
    if (shim === undefined || argv === undefined || !isShim) {
      throw new Error(`the parent of ${id}'s init ${task.pid} is not a shim: ${JSON.stringify(argv)}`);
    }
    shims.add(shim);
  }
  let rssKiB = 0;
  let pssKiB = 0;
  let ussKiB = 0;
  for (const pid of shims) {
    const use = readMemory(pid);
    rssKiB += use.rssKiB;
    pssKiB += use.pssKiB;
    ussKiB += use.ussKiB;
  }
  return { rssKiB, pssKiB, ussKiB, shims: shims.size, containers: ids.length };
}
