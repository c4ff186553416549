/**
 * Parsers for cgroup and procfs text: /proc/<pid>/cgroup, /proc/self/mountinfo and the cgroup file
 * formats (single values, flat "key value" lists, nested "dev key=value" lines).
 */
import { readFile } from "node:fs/promises";
import { errnoOf } from "../errors.js";

/** 2^64 - 1: what containerd reports for a v2 "max" limit. */
export const UINT64_MAX = (1n << 64n) - 1n;

/** Where a process sits in the cgroup hierarchies, from /proc/<pid>/cgroup. */
export interface ProcCgroup {
  /** v1: controller (or "name=systemd") → cgroup path, one entry per controller of each line. */
  readonly v1: ReadonlyMap<string, string>;
  /** The unified hierarchy's path (the `0::` line), if present. */
  readonly unified: string | undefined;
}

/** Parses /proc/<pid>/cgroup (`N:ctrl1,ctrl2:/path` lines; `0::/path` for the unified hierarchy). */
export function parseProcCgroup(text: string): ProcCgroup {
  const v1 = new Map<string, string>();
  let unified: string | undefined;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === "") {
      unified = path;
    } else {
      for (const controller of controllers.split(",")) v1.set(controller, path);
    }
  }
  return { v1, unified };
}

/** A cgroup file system mount from mountinfo. */
export interface CgroupMount {
  readonly fsType: "cgroup" | "cgroup2";
  /** Directory it is mounted on. */
  readonly mountPoint: string;
  /** Which cgroup of the hierarchy is the mount's root ("/" unless in a cgroup namespace or a bind). */
  readonly root: string;
  /** v1 controllers (and "name=…" hierarchies) of the mount; empty for cgroup2. */
  readonly controllers: readonly string[];
}

const V1_SUPER_OPTIONS = new Set([
  "rw",
  "ro",
  "relatime",
  "noprefix",
  "clone_children",
  "xattr",
  "cpuset_v2_mode",
]);

/** Parses /proc/self/mountinfo and returns the cgroup and cgroup2 mounts, in order. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split("\n")) {
    const fields = line.split(" ");
    const separator = fields.indexOf("-");
    if (separator < 6) continue;
    const fsType = fields[separator + 1];
    if (fsType !== "cgroup" && fsType !== "cgroup2") continue;
    const root = unescapeMountPath(fields[3] ?? "/");
    const mountPoint = unescapeMountPath(fields[4] ?? "");
    const superOptions = (fields[separator + 3] ?? "").split(",");
    const controllers =
      fsType === "cgroup"
        ? superOptions.filter(
            (option) => !V1_SUPER_OPTIONS.has(option) && !option.startsWith("release_agent="),
          )
        : [];
    mounts.push({ fsType, mountPoint, root, controllers });
  }
  return mounts;
}

function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Reads a text file; undefined when it does not exist (or the cgroup was removed under us). */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const errno = errnoOf(error);
    if (errno === "ENOENT" || errno === "ENODEV" || errno === "ENOTDIR" || errno === "EOPNOTSUPP")
      return undefined;
    throw error;
  }
}

/**
 * Parses an unsigned counter. "max" → `max` (default {@link UINT64_MAX}); negative values (e.g. -1 for
 * "no limit" in some v1 files) → 0; empty or garbage → 0; values above 2^64-1 are clamped.
 */
export function parseUint64(text: string | undefined, max: bigint = UINT64_MAX): bigint {
  if (text === undefined) return 0n;
  const value = text.trim();
  if (value === "max") return max;
  if (!/^\d+$/.test(value)) return 0n;
  const parsed = BigInt(value);
  return parsed > UINT64_MAX ? UINT64_MAX : parsed;
}

/** Parses flat-keyed files (`key value` per line: memory.stat, cpu.stat, memory.events, …). */
export function parseKeyValues(text: string | undefined): Map<string, bigint> {
  const values = new Map<string, bigint>();
  if (text === undefined) return values;
  for (const line of text.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === undefined || key === "" || value === undefined) continue;
    values.set(key, parseUint64(value));
  }
  return values;
}

/** Parses a space-separated list of counters (cpuacct.usage_percpu). */
export function parseUintList(text: string | undefined): bigint[] {
  if (text === undefined) return [];
  return text
    .trim()
    .split(/\s+/)
    .filter((word) => word !== "")
    .map((word) => parseUint64(word));
}

/** One line of a nested-keyed file: `<first word> key=value key=value…` (io.stat, rdma.current). */
export interface NestedLine {
  readonly name: string;
  readonly values: ReadonlyMap<string, string>;
}

/** Parses nested-keyed files (`8:0 rbytes=1 wbytes=2`, `mlx4_0 hca_handle=2 hca_object=max`). */
export function parseNestedKeyed(text: string | undefined): NestedLine[] {
  if (text === undefined) return [];
  const lines: NestedLine[] = [];
  for (const line of text.split("\n")) {
    const [name, ...pairs] = line.trim().split(/\s+/);
    if (name === undefined || name === "") continue;
    const values = new Map<string, string>();
    for (const pair of pairs) {
      const eq = pair.indexOf("=");
      if (eq > 0) values.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    lines.push({ name, values });
  }
  return lines;
}
