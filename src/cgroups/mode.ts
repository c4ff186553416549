/**
 * Which cgroup hierarchy layout the host uses.
 *
 * containerd counterpart: `cgroups.Mode()` — unified when /sys/fs/cgroup is cgroup2, legacy or hybrid
 * (v1 controllers, maybe with a cgroup2 mount under /sys/fs/cgroup/unified) otherwise. Hybrid counts as
 * v1: that is where the controllers are.
 */
import { statfsSync } from "node:fs";

/** 1 for legacy/hybrid hosts, 2 for unified ones. */
export type CgroupVersion = 1 | 2;

/** Magic number statfs reports for a cgroup2 file system (CGROUP2_SUPER_MAGIC). */
export const CGROUP2_SUPER_MAGIC = 0x63677270;

/** Default mount point of the cgroup file systems. */
export const CGROUP_ROOT = "/sys/fs/cgroup";

/**
 * The host's cgroup version: 2 when `mountPoint` (default /sys/fs/cgroup) is a cgroup2 file system,
 * else 1. Synchronous (one statfs); cheap enough to call per container.
 */
export function cgroupVersion(mountPoint: string = CGROUP_ROOT): CgroupVersion {
  return statfsSync(mountPoint).type === CGROUP2_SUPER_MAGIC ? 2 : 1;
}
