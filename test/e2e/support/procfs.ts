/**
 * Read-only views of /proc and of the shim socket directory, used by the end-to-end harness to find processes, sockets
 * and mounts that belong to one private containerd — always by pid, address or path, never by process name.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

/** Directory where every containerd 1.6 shim puts its socket, independent of containerd's `--state` (hard-coded). */
export const SHIM_SOCKET_DIR = "/run/containerd/s";

/** One line of /proc/PID/stat, reduced to what the harness needs. */
export interface ProcStat {
  readonly pid: number;
  readonly comm: string;
  /** Single-letter state: R, S, D, Z (zombie), T, t, X, I… */
  readonly state: string;
  readonly ppid: number;
}

/** Parses /proc/PID/stat, or returns undefined when the process is gone. The comm field may hold spaces and parens. */
export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  const rest = text.slice(close + 2).split(" ");
  return { pid, comm: text.slice(open + 1, close), state: rest[0] ?? "?", ppid: Number(rest[1]) };
}

/** Every pid currently listed in /proc. */
export function listPids(): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** All processes (a snapshot; processes may vanish while it is read). */
export function listProcesses(): ProcStat[] {
  const result: ProcStat[] = [];
  for (const pid of listPids()) {
    const stat = readStat(pid);
    if (stat !== undefined) result.push(stat);
  }
  return result;
}

/** True while the pid exists and has not exited (a zombie counts as exited). */
export function isAlive(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X";
}

/** Zombie children of `ppid`: exited processes their parent has not reaped. */
export function zombieChildren(ppid: number): ProcStat[] {
  return listProcesses().filter((p) => p.ppid === ppid && p.state === "Z");
}

/** argv of a process, or undefined when it is gone or a kernel thread / zombie (empty cmdline). */
export function readCmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (raw === "") return undefined;
    return raw.replace(/\0$/, "").split("\0");
  } catch {
    return undefined;
  }
}

/** Environment of a process as key → value, or undefined when unreadable. */
export function readEnviron(pid: number): Map<string, string> | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/environ`, "utf8");
    const env = new Map<string, string>();
    for (const entry of raw.split("\0")) {
      const eq = entry.indexOf("=");
      if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    return env;
  } catch {
    return undefined;
  }
}

/** Current working directory of a process (may end in " (deleted)"), or undefined. */
export function readCwd(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/** The parent pid as the kernel reports it (after re-parenting to a subreaper), or undefined when gone. */
export function parentPid(pid: number): number | undefined {
  return readStat(pid)?.ppid;
}

/** Criteria that mark a process as started on behalf of one private containerd. */
export interface OwnedProcessQuery {
  /** containerd's gRPC socket: shims carry `-address <it>` in argv. */
  readonly address: string;
  /** containerd's ttrpc socket: shims inherit `TTRPC_ADDRESS=<it>` from containerd. */
  readonly ttrpcAddress: string;
  /** A private directory: processes whose cwd lies inside it (shim daemons run in their bundle). */
  readonly directory: string;
  /** Pids never to report (containerd itself, the test process). */
  readonly exclude: readonly number[];
}

/**
 * Live (non-zombie) processes that belong to the given containerd by argv, environment or cwd — shim `start`/`delete`
 * runs, shim daemons and the OCI runtime commands they spawned. Container processes do not inherit any of these.
 */
export function ownedProcesses(query: OwnedProcessQuery): ProcStat[] {
  const owned: ProcStat[] = [];
  for (const pid of listPids()) {
    if (query.exclude.includes(pid) || pid === process.pid) continue;
    const stat = readStat(pid);
    if (stat === undefined || stat.state === "Z" || stat.state === "X") continue;
    const argv = readCmdline(pid);
    const byArgv = argv?.some((arg, i) => arg === "-address" && argv[i + 1] === query.address) ?? false;
    const byEnv = readEnviron(pid)?.get("TTRPC_ADDRESS") === query.ttrpcAddress;
    const cwd = readCwd(pid);
    const byCwd = cwd !== undefined && (cwd === query.directory || cwd.startsWith(`${query.directory}/`));
    if (byArgv || byEnv || byCwd) owned.push(stat);
  }
  return owned;
}

/**
 * Socket path a shim uses for `key` (a container id or a group name): `/run/containerd/s/<hex sha256 of
 * "<address>/<ns>/<key>">`. Counterpart: containerd `runtime/v2/shim/util_unix.go` SocketAddress.
 */
export function shimSocketPath(address: string, namespace: string, key: string): string {
  const digest = createHash("sha256")
    .update(join(address, namespace, key))
    .digest("hex");
  return join(SHIM_SOCKET_DIR, digest);
}

/** Decodes the octal escapes (`\040` etc.) that /proc/self/mountinfo uses in paths. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_match, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

/** Mount points at or below `dir` in this process's mount namespace, deepest first (the order to unmount them). */
export function mountsUnder(dir: string): string[] {
  const points: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    const point = fields[4];
    if (point === undefined) continue;
    const path = unescapeMountPath(point);
    if (path === dir || path.startsWith(`${dir}/`)) points.push(path);
  }
  return points.sort((a, b) => b.length - a.length);
}
