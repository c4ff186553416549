/**
 * crun 1.8.1 refuses this host's hybrid cgroup layout ("cgroups in hybrid mode not supported, drop all
 * controllers from cgroupv2"), even with `--cgroup-manager=disabled`. It does run in a private mount
 * namespace where cgroup2 is mounted on /sys/fs/cgroup and with `--cgroup-manager=disabled`.
 * {@link makeCrunWrapper} writes an executable named `crun` that does exactly that for every
 * invocation, so tests can use it as the runtime binary (its basename makes the driver treat it as
 * crun). Without cgroups crun cannot pause, resume, list processes or report stats.
 */
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The real crun binary the wrapper executes. */
export const CRUN_BINARY = "/usr/bin/crun";

/** True when crun and unshare are installed. */
export function crunAvailable(): boolean {
  return existsSync(CRUN_BINARY) && (existsSync("/usr/bin/unshare") || existsSync("/bin/unshare"));
}

/**
 * Writes `<dir>/crun`: `unshare -m` (a private mount namespace, mounts private by default), mount
 * cgroup2 on /sys/fs/cgroup there, then exec crun with `--cgroup-manager=disabled` and the caller's
 * arguments. Every process in the chain execs the next, so the pid the caller waits for is crun's.
 * Returns the wrapper's path. Needs root.
 */
export function makeCrunWrapper(dir: string): string {
  const path = join(dir, "crun");
  writeFileSync(
    path,
    [
      "#!/bin/sh",
      "# Written by husk's test support: run crun in a private mount namespace with cgroup2 on /sys/fs/cgroup.",
      `exec unshare -m sh -c 'mount -t cgroup2 none /sys/fs/cgroup && exec ${CRUN_BINARY} --cgroup-manager=disabled "$@"' crun "$@"`,
      "",
    ].join("\n"),
  );
  chmodSync(path, 0o755);
  return path;
}
