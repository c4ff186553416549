/**
 * Mounting a task's rootfs from containerd `Mount` records.
 *
 * containerd counterpart: `mount.Mount.Mount` / `mount.All` / `mount.UnmountAll`-style recursive
 * unmount (mount/mount_linux.go, mount/mountinfo), used by the runc shim's `NewContainer`.
 */
import { readFileSync, realpathSync } from "node:fs";
import { HuskError, invalidArgument, notImplemented } from "../errors.js";
import { isErrnoError, type MountConstantName, native } from "./native.js";

/** One mount, as in containerd's `types.Mount` {type, source, options[]}. */
export interface MountSpec {
  readonly type: string;
  readonly source: string;
  readonly options: readonly string[];
}

/** A mount(2) call plan derived from options. */
export interface MountFlags {
  /** MS_* bits for the main mount(2) call (propagation excluded). */
  readonly flags: number;
  /** MS_SHARED/MS_PRIVATE/MS_SLAVE/MS_UNBINDABLE (| MS_REC), applied by a second call; 0 for none. */
  readonly propagation: number;
  /** Options the kernel does not take as flags, comma-joined for the filesystem (e.g. overlay's lowerdir=…). */
  readonly data: string;
}

// option → [flag name, clear]: a `clear` option removes the flag (e.g. rw clears MS_RDONLY).
const FLAG_OPTIONS: Readonly<Record<string, readonly [MountConstantName | null, boolean]>> = {
  async: ["MS_SYNCHRONOUS", true],
  atime: ["MS_NOATIME", true],
  bind: ["MS_BIND", false],
  defaults: [null, false],
  dev: ["MS_NODEV", true],
  diratime: ["MS_NODIRATIME", true],
  dirsync: ["MS_DIRSYNC", false],
  exec: ["MS_NOEXEC", true],
  mand: ["MS_MANDLOCK", false],
  noatime: ["MS_NOATIME", false],
  nodev: ["MS_NODEV", false],
  nodiratime: ["MS_NODIRATIME", false],
  noexec: ["MS_NOEXEC", false],
  nomand: ["MS_MANDLOCK", true],
  norelatime: ["MS_RELATIME", true],
  nostrictatime: ["MS_STRICTATIME", true],
  nosuid: ["MS_NOSUID", false],
  relatime: ["MS_RELATIME", false],
  remount: ["MS_REMOUNT", false],
  ro: ["MS_RDONLY", false],
  rw: ["MS_RDONLY", true],
  strictatime: ["MS_STRICTATIME", false],
  suid: ["MS_NOSUID", true],
  sync: ["MS_SYNCHRONOUS", false],
};

const PROPAGATION_OPTIONS: Readonly<Record<string, readonly MountConstantName[]>> = {
  private: ["MS_PRIVATE"],
  rprivate: ["MS_PRIVATE", "MS_REC"],
  shared: ["MS_SHARED"],
  rshared: ["MS_SHARED", "MS_REC"],
  slave: ["MS_SLAVE"],
  rslave: ["MS_SLAVE", "MS_REC"],
  unbindable: ["MS_UNBINDABLE"],
  runbindable: ["MS_UNBINDABLE", "MS_REC"],
};

/** Longest data string mount(2) accepts (one page). */
const MAX_MOUNT_DATA_BYTES = 4096;

/** Translates mount options into flags, propagation and data, in order (a later option wins). */
export function mountFlags(options: readonly string[]): MountFlags {
  const c = native().mountConstants;
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const option of options) {
    if (option === "rbind") {
      flags |= c.MS_BIND | c.MS_REC;
      continue;
    }
    if (option === "loop") throw notImplemented('mount option "loop" is not supported');
    const flag = FLAG_OPTIONS[option];
    if (flag !== undefined) {
      const [name, clear] = flag;
      if (name !== null) flags = clear ? flags & ~c[name] : flags | c[name];
      continue;
    }
    const propagationFlags = PROPAGATION_OPTIONS[option];
    if (propagationFlags !== undefined) {
      propagation = propagationFlags.reduce((bits, name) => bits | c[name], 0);
      continue;
    }
    data.push(option);
  }
  return { flags: flags >>> 0, propagation: propagation >>> 0, data: data.join(",") };
}

function mountError(error: unknown, spec: MountSpec, target: string): HuskError {
  return HuskError.from(error, `mount ${spec.type} "${spec.source}" on "${target}"`);
}

/**
 * mount(2) with containerd's option→flag table (ro, rw, bind, rbind, nosuid, nodev, noexec, remount,
 * private, rprivate, … the rest goes into data, e.g. overlay's lowerdir=/upperdir=/workdir=).
 * A propagation option is applied by a second mount(2) call; a read-only bind mount is made
 * read-only by a remount, as the kernel ignores MS_RDONLY on the first bind call.
 */
export function mount(spec: MountSpec, target: string): void {
  const c = native().mountConstants;
  const { flags, propagation, data } = mountFlags(spec.options);
  if (Buffer.byteLength(data) >= MAX_MOUNT_DATA_BYTES) {
    throw invalidArgument(`mount options of "${spec.source}" exceed ${MAX_MOUNT_DATA_BYTES - 1} bytes`);
  }
  const binding = native();
  try {
    binding.mount(spec.source, target, spec.type, flags, data);
    if (propagation !== 0) binding.mount("", target, "", propagation, "");
    const isBind = (flags & c.MS_BIND) !== 0;
    const isReadOnly = (flags & c.MS_RDONLY) !== 0;
    if (isBind && isReadOnly && (flags & c.MS_REMOUNT) === 0) {
      binding.mount("", target, "", (flags | c.MS_REMOUNT) >>> 0, "");
    }
  } catch (error) {
    throw mountError(error, spec, target);
  }
}

/** Mounts every spec onto target in order; on failure unmounts what it did (in reverse) and rethrows. */
export function mountAll(specs: readonly MountSpec[], target: string): void {
  const c = native().mountConstants;
  let done = 0;
  try {
    for (const spec of specs) {
      mount(spec, target);
      done++;
    }
  } catch (error) {
    for (; done > 0; done--) {
      try {
        native().umount2(target, c.MNT_DETACH);
      } catch {
        /* best effort: the original error is what matters */
      }
    }
    throw error;
  }
}

/** Undoes /proc/self/mountinfo's octal escapes (`\040` for a space, …). */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Mount points at or below `root`, deepest first (and topmost of a stack first). */
export function mountPointsUnder(
  root: string,
  mountinfo = readFileSync("/proc/self/mountinfo", "utf8"),
): string[] {
  const prefix = root.endsWith("/") ? root : `${root}/`;
  const points: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const fields = line.split(" ");
    const point = fields[4];
    if (point === undefined) continue;
    const path = unescapeMountPath(point);
    if (path === root || path.startsWith(prefix)) points.push(path);
  }
  const depth = (p: string): number => p.split("/").length;
  // Later lines are mounted on top of earlier ones: reverse, then a stable sort by depth.
  return points.reverse().sort((a, b) => depth(b) - depth(a));
}

/**
 * umount2(MNT_DETACH) everything at/below target (read from /proc/self/mountinfo), deepest first;
 * ignores EINVAL/ENOENT for what is not (or no longer) mounted. A missing target is a no-op.
 */
export function unmountRecursive(target: string): void {
  let root: string;
  try {
    root = realpathSync(target);
  } catch (error) {
    if (isErrnoError(error) && error.code === "ENOENT") return;
    throw HuskError.from(error, `unmount "${target}"`);
  }
  const binding = native();
  for (const point of mountPointsUnder(root)) {
    try {
      binding.umount2(point, binding.mountConstants.MNT_DETACH);
    } catch (error) {
      if (isErrnoError(error) && (error.code === "EINVAL" || error.code === "ENOENT")) continue;
      throw HuskError.from(error, `unmount "${point}"`);
    }
  }
}
