/**
 * A container's cgroup: found from its init pid, read for statistics, watched for OOM kills.
 *
 * containerd counterpart: `runtime/v2/runc` `loadProcessCgroup` (cgroup1.Load / cgroup2.Load of
 * /proc/<pid>/cgroup), `pkg/oom/v1` (eventfd) and `pkg/oom/v2` (memory.events).
 */
import { existsSync, type FSWatcher, readFileSync, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { errnoOf, HuskError, notFound } from "../errors.js";
import { watchMemoryOomV1 } from "../sys/index.js";
import type { CgroupStats } from "./metrics.js";
import { CGROUP_ROOT, type CgroupVersion, cgroupVersion } from "./mode.js";
import { type CgroupMount, type ProcCgroup, parseCgroupMounts, parseProcCgroup } from "./parse.js";
import { type ControllerDirs, parseOomControl, readStatsV1 } from "./v1.js";
import { parseMemoryEvents, readStatsV2 } from "./v2.js";

/** A stop handle for an OOM watch. */
export interface OomWatch {
  /** Stops watching. Idempotent. */
  close(): void;
  /**
   * Resolves once the watch has stopped: by {@link OomWatch.close}, or (v2) by itself when the cgroup
   * went away. v1: the native eventfd watch drops the removal notification itself, without telling us,
   * so this resolves only on close().
   */
  readonly closed: Promise<void>;
}

/** One cgroup (v1: one directory per controller; v2: one directory). */
export interface Cgroup {
  readonly version: CgroupVersion;
  /**
   * The cgroup path inside its hierarchy, as /proc/<pid>/cgroup names it (v1: the memory controller's
   * path, which may differ from the other controllers'; v2: the unified path).
   */
  readonly path: string;
  /** Absolute directory per controller (v1) or `{"unified" → dir}` (v2). */
  readonly directories: ReadonlyMap<string, string>;
  /**
   * Reads all statistics. Missing files read as zero (v1: skipped, like containerd's IgnoreNotExist).
   * Throws NotFound once the cgroup itself is gone.
   */
  stats(): Promise<CgroupStats>;
  /** How many processes the kernel OOM killer has killed in this cgroup (0 if the kernel does not say). */
  /**
   * The oom_kill counter, read synchronously: cgroup files live in memory and this runs on every container exit,
   * where each event-loop turn delays the exit event.
   */
  oomKillCount(): number;
  /**
   * Calls `onOom(count)` once per increase of the oom_kill counter (count = the new total), on the JS
   * thread. v1: eventfd on memory.oom_control through the native layer (the extra event the kernel
   * sends when the cgroup is removed is ignored there, and a notification that shows no increase of
   * oom_kill is re-checked a few times, since the kernel notifies before it kills); v2: fs.watch on
   * memory.events. Never keeps the event loop alive; stops by itself when the cgroup disappears (v2) or
   * stops receiving anything (v1). Close it when the container is deleted. `onOom` must not throw.
   * Throws NotFound when there is no memory controller directory to watch.
   */
  watchOom(onOom: (count: number) => void): OomWatch;
  /** True while the cgroup directory exists. */
  exists(): boolean;
}

/**
 * Finds the cgroup of `pid` from /proc/<pid>/cgroup and /proc/self/mountinfo, for the host's cgroup
 * version. Resolves undefined when the process does not exist or is in no cgroup of that version.
 */
export async function loadCgroup(pid: number): Promise<Cgroup | undefined> {
  let procText: string;
  try {
    procText = await readFile(`/proc/${pid}/cgroup`, "utf8");
  } catch (error) {
    if (errnoOf(error) === "ENOENT" || errnoOf(error) === "ESRCH") return undefined;
    throw HuskError.from(error, `read cgroup of pid ${pid}`);
  }
  const mounts = parseCgroupMounts(await readFile("/proc/self/mountinfo", "utf8"));
  const proc = parseProcCgroup(procText);
  if (cgroupVersion() === 2) {
    const dir = resolveUnifiedDirectory(proc, mounts);
    return dir === undefined || proc.unified === undefined ? undefined : openCgroupV2(dir, proc.unified);
  }
  const dirs = resolveV1Directories(proc, mounts);
  if (dirs.size === 0) return undefined;
  return openCgroupV1(dirs, proc.v1.get("memory") ?? proc.v1.values().next().value ?? "/");
}

function relativeTo(root: string, path: string): string {
  if (root === "/" || root === "") return path;
  if (path === root) return "/";
  return path.startsWith(`${root}/`) ? path.slice(root.length) : path;
}

/**
 * The directory of each v1 controller of a process: the mount point of the hierarchy holding that
 * controller joined with the process's path in it (made relative to the mount's root). Controllers
 * without a mount fall back to /sys/fs/cgroup/<controller>; named hierarchies ("name=systemd") are
 * skipped.
 */
export function resolveV1Directories(proc: ProcCgroup, mounts: readonly CgroupMount[]): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const [controller, path] of proc.v1) {
    if (controller.startsWith("name=")) continue;
    const mount = mounts.find((m) => m.fsType === "cgroup" && m.controllers.includes(controller));
    dirs.set(
      controller,
      mount === undefined
        ? join(CGROUP_ROOT, controller, path)
        : join(mount.mountPoint, relativeTo(mount.root, path)),
    );
  }
  return dirs;
}

/** The unified-hierarchy directory of a process (preferring a cgroup2 mount on /sys/fs/cgroup). */
export function resolveUnifiedDirectory(
  proc: ProcCgroup,
  mounts: readonly CgroupMount[],
): string | undefined {
  if (proc.unified === undefined) return undefined;
  const unifiedMounts = mounts.filter((m) => m.fsType === "cgroup2");
  const mount = unifiedMounts.find((m) => m.mountPoint === CGROUP_ROOT) ?? unifiedMounts[0];
  return mount === undefined
    ? join(CGROUP_ROOT, proc.unified)
    : join(mount.mountPoint, relativeTo(mount.root, proc.unified));
}

/** A v1 cgroup over explicit controller directories (tests use fixture directories). */
export function openCgroupV1(directories: ControllerDirs, path: string): Cgroup {
  return new CgroupV1(new Map(directories), path);
}

/** A v2 cgroup over one directory. */
export function openCgroupV2(directory: string, path: string): Cgroup {
  return new CgroupV2(directory, path);
}

/** How often to re-read oom_kill after an event that did not show an increase yet. */
const OOM_RECHECK_DELAYS_MS = [10, 50, 200, 1000] as const;

/**
 * The shared OOM watch logic: `readCount` re-reads the counter (undefined = cgroup gone); `notify` is
 * wired to the kernel notification by the caller.
 */
class OomCounterWatch implements OomWatch {
  #last: number;
  #closed = false;
  readonly #readCount: () => Promise<number | undefined>;
  readonly #onOom: (count: number) => void;
  #stop: (() => void) | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly closed: Promise<void>;
  #resolveClosed: () => void = () => undefined;

  constructor(initial: number, readCount: () => Promise<number | undefined>, onOom: (count: number) => void) {
    this.#last = initial;
    this.#readCount = readCount;
    this.#onOom = onOom;
    this.closed = new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** Sets what stops the kernel notification source; called once, right after it was started. */
  attach(stop: () => void): void {
    this.#stop = stop;
  }

  #isClosed(): boolean {
    return this.#closed;
  }

  /** Called for every kernel notification. */
  notify(): void {
    this.#check(0).catch(() => {
      // A read failure means the cgroup is going away; the next notification (if any) retries.
    });
  }

  async #check(attempt: number): Promise<void> {
    if (this.#isClosed()) return;
    const count = await this.#readCount();
    if (this.#isClosed()) return;
    if (count === undefined) {
      // The cgroup was removed: its removal is the notification we just got, not an OOM.
      this.close();
      return;
    }
    if (count > this.#last) {
      this.#last = count;
      this.#onOom(count);
      return;
    }
    // The notification can precede the kill being counted (the kernel notifies, then kills).
    const delay = OOM_RECHECK_DELAYS_MS[attempt];
    if (delay === undefined) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#check(attempt + 1).catch(() => undefined);
    }, delay);
    timer.unref();
    this.#timers.add(timer);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#stop?.();
    this.#resolveClosed();
  }
}

class CgroupV1 implements Cgroup {
  readonly version = 1;
  readonly path: string;
  readonly directories: ReadonlyMap<string, string>;

  constructor(directories: Map<string, string>, path: string) {
    this.directories = directories;
    this.path = path;
  }

  #primaryDirectory(): string | undefined {
    return this.directories.get("memory") ?? this.directories.values().next().value;
  }

  exists(): boolean {
    const dir = this.#primaryDirectory();
    return dir !== undefined && existsSync(dir);
  }

  async stats(): Promise<CgroupStats> {
    if (!this.exists()) throw notFound(`cgroup ${JSON.stringify(this.path)} does not exist`);
    return { version: 1, metrics: await readStatsV1(this.directories) };
  }

  oomKillCount(): number {
    const dir = this.directories.get("memory");
    if (dir === undefined) return 0;
    return Number(parseOomControl(readOptionalTextSync(join(dir, "memory.oom_control"))).oomKill);
  }

  watchOom(onOom: (count: number) => void): OomWatch {
    const dir = this.directories.get("memory");
    if (dir === undefined) throw notFound(`cgroup ${JSON.stringify(this.path)} has no memory controller`);
    const controlFile = join(dir, "memory.oom_control");
    const initialText = readSyncOrThrowNotFound(controlFile, this.path);
    // Kernels before 4.13 have no oom_kill line: then every notification counts as one kill.
    const counted = /^oom_kill\s/m.test(initialText);
    let fallbackCount = 0;
    const readCount = async (): Promise<number | undefined> => {
      if (!existsSync(dir)) return undefined;
      const text = await readOptionalText(controlFile);
      if (text === undefined) return undefined;
      if (!counted) return ++fallbackCount;
      return Number(parseOomControl(text).oomKill);
    };
    const watch = new OomCounterWatch(
      counted ? Number(parseOomControl(initialText).oomKill) : 0,
      readCount,
      onOom,
    );
    const native = watchMemoryOomV1(dir, () => {
      watch.notify();
    });
    watch.attach(() => {
      native.close();
    });
    return watch;
  }
}

class CgroupV2 implements Cgroup {
  readonly version = 2;
  readonly path: string;
  readonly directories: ReadonlyMap<string, string>;
  readonly #dir: string;

  constructor(dir: string, path: string) {
    this.#dir = dir;
    this.path = path;
    this.directories = new Map([["unified", dir]]);
  }

  exists(): boolean {
    return existsSync(this.#dir);
  }

  async stats(): Promise<CgroupStats> {
    if (!this.exists()) throw notFound(`cgroup ${JSON.stringify(this.path)} does not exist`);
    return { version: 2, metrics: await readStatsV2(this.#dir) };
  }

  oomKillCount(): number {
    return Number(parseMemoryEvents(readOptionalTextSync(join(this.#dir, "memory.events"))).oomKill);
  }

  watchOom(onOom: (count: number) => void): OomWatch {
    const eventsFile = join(this.#dir, "memory.events");
    const initial = Number(parseMemoryEvents(readSyncOrThrowNotFound(eventsFile, this.path)).oomKill);
    const watch = new OomCounterWatch(
      initial,
      async () => {
        const text = await readOptionalText(eventsFile);
        return text === undefined ? undefined : Number(parseMemoryEvents(text).oomKill);
      },
      onOom,
    );
    // kernfs delivers inotify IN_MODIFY for memory.events; persistent: false = never holds the loop.
    const watcher = watchFile(eventsFile, () => {
      watch.notify();
    });
    watcher.on("error", () => {
      watch.close();
    });
    watch.attach(() => {
      watcher.close();
    });
    return watch;
  }
}

function watchFile(path: string, onChange: () => void): FSWatcher {
  try {
    return watch(path, { persistent: false }, onChange);
  } catch (error) {
    throw HuskError.from(error, `watch ${JSON.stringify(path)}`);
  }
}

async function readOptionalText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const errno = errnoOf(error);
    if (errno === "ENOENT" || errno === "ENODEV" || errno === "ENOTDIR") return undefined;
    throw error;
  }
}

function readOptionalTextSync(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const errno = errnoOf(error);
    if (errno === "ENOENT" || errno === "ENODEV" || errno === "ENOTDIR") return undefined;
    throw error;
  }
}

function readSyncOrThrowNotFound(path: string, cgroupPath: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const errno = errnoOf(error);
    if (errno === "ENOENT" || errno === "ENODEV" || errno === "ENOTDIR") {
      throw notFound(`cgroup ${JSON.stringify(cgroupPath)} has no ${JSON.stringify(path)}`, error);
    }
    throw HuskError.from(error, `read ${JSON.stringify(path)}`);
  }
}
