/**
 * `containerd-shim-husk-v2 … start`: find or launch the daemon that will serve this container and print its address.
 * containerd runs this once per container and waits for it, so it is kept small: no protobuf library, no logger.
 *
 * - The socket is `/run/containerd/s/<sha256(<address>/<namespace>/<group>)>`, as containerd's runc shim computes it;
 *   the group depends on the grouping policy (config.ts): the container id, the pod (the
 *   `io.containerd.runc.v2.group` annotation, then CRI's sandbox id), or one per namespace.
 * - If a daemon already listens there, only `address` is written into the bundle and printed: no new process.
 * - Otherwise `start` binds the socket itself (so containerd can connect the moment it prints the address) and hands
 *   the listening fd to a new detached daemon as fd 3; the daemon never holds start's stdout/stderr.
 * - Nothing but the address is ever written to stdout, nothing to stderr on success.
 *
 * containerd normally runs the native launcher (native/launcher/launcher.c) instead, which does all of this without
 * Node.js and execs this code only for what it does not reproduce exactly. To let it honour the grouping policy without
 * a TOML parser, this code records the policy of every config file it parses under {@link GROUPING_CACHE_DIR}.
 *
 * containerd counterpart: runtime/v2/runc/manager/manager_linux.go `Start`, runtime/v2/shim/util_unix.go.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  constants as fsc,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { dirname, join, posix } from "node:path";
import { configPathFor, type Grouping, loadShimConfig } from "./config.js";
import type { ShimFlags } from "./flags.js";
import { readStartOptions } from "./options-lite.js";

/** containerd's fixed shim socket directory (independent of its --state). */
export const SOCKET_DIR = "/run/containerd/s";
/** The group key that puts every container of a namespace into one daemon (not a valid container id). */
export const NAMESPACE_GROUP = "@husk:namespace";
const PROBE_TIMEOUT_MS = 100;
/**
 * The grouping policy of each config file `start` has parsed: file name = hex sha256 of the file's bytes, content = the
 * policy word. Read by the native launcher, which uses an entry only for byte-identical config files.
 */
export const GROUPING_CACHE_DIR = "/run/husk/shim-grouping";

/** The shim socket path for a container, as containerd's runc shim derives it. */
export function socketPath(containerdAddress: string, namespace: string, group: string): string {
  const digest = createHash("sha256")
    .update(posix.join(containerdAddress, namespace, group))
    .digest("hex");
  return join(SOCKET_DIR, digest);
}

/** Which daemon group a container belongs to under a grouping policy. */
export function groupFor(
  grouping: Grouping,
  id: string,
  annotations: Readonly<Record<string, string>>,
): string {
  switch (grouping) {
    case "container":
      return id;
    case "namespace":
      return NAMESPACE_GROUP;
    case "pod":
      return annotations["io.containerd.runc.v2.group"] ?? annotations["io.kubernetes.cri.sandbox-id"] ?? id;
  }
}

/** Runs `start`; resolves with the address printed (tests call it directly). */
export async function runStart(
  flags: ShimFlags,
  stdin: Uint8Array,
  cwd: string = process.cwd(),
): Promise<string> {
  if (flags.id === "" || flags.namespace === "" || flags.address === "") {
    throw new Error("start needs -id, -namespace and -address");
  }
  const options = readStartOptions(stdin);
  const grouping = await loadGrouping(options.configPath);
  const spec = JSON.parse(readFileSync(join(cwd, "config.json"), "utf8")) as {
    annotations?: Record<string, string>;
  };
  const group = groupFor(grouping, flags.id, spec.annotations ?? {});
  const path = socketPath(flags.address, flags.namespace, group);
  const address = `unix://${path}`;

  if (await isListening(path)) {
    writeAtomic(join(cwd, "address"), address);
    return address;
  }
  const server = await bindSocket(path);
  if (server === "reused") {
    writeAtomic(join(cwd, "address"), address);
    return address;
  }
  const script = process.argv[1];
  if (script === undefined) throw new Error("cannot find the shim's own entry point");
  // The daemon's stderr is the bundle's log FIFO, which containerd copies into its own log — crash output included.
  // O_RDWR never blocks and keeps the FIFO writable while containerd restarts (writes wait instead of EPIPE).
  const logFifo = join(cwd, "log");
  const stderr = existsSync(logFifo) ? openSync(logFifo, fsc.O_RDWR | fsc.O_NONBLOCK) : "ignore";
  // The daemon learns its socket path too, to remove it when it exits.
  const pid = launchDaemon({ script, flags: { ...flags, socket: path }, server, cwd, stderr });
  writeAtomic(join(cwd, "address"), address);
  writeAtomic(join(cwd, "shim.pid"), String(pid));
  adjustOomScore(pid);
  if (options.shimCgroup !== "") moveToCgroup(pid, options.shimCgroup);
  return address;
}

/**
 * The grouping policy of the config file in effect, recorded in {@link GROUPING_CACHE_DIR} when the file exists and did
 * not change while it was parsed (its bytes are read before and after).
 */
async function loadGrouping(explicitPath: string): Promise<Grouping> {
  const { path } = configPathFor(explicitPath);
  const before = readBytes(path);
  const { grouping } = await loadShimConfig(explicitPath);
  const after = before === undefined ? undefined : readBytes(path);
  if (before !== undefined && after !== undefined && before.equals(after)) recordGrouping(before, grouping);
  return grouping;
}

function readBytes(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

function recordGrouping(configBytes: Buffer, grouping: Grouping): void {
  const entry = join(GROUPING_CACHE_DIR, createHash("sha256").update(configBytes).digest("hex"));
  try {
    if (readFileSync(entry, "utf8") === grouping) return;
  } catch {
    // no entry yet
  }
  try {
    mkdirSync(GROUPING_CACHE_DIR, { recursive: true, mode: 0o700 });
    writeAtomic(entry, grouping);
  } catch {
    // Not permitted (unprivileged): the launcher then keeps handing such starts to Node.js.
  }
}

/** Binds the socket; "reused" when another start won the race and its daemon is listening. */
export async function bindSocket(path: string): Promise<Server | "reused"> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await listen(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
      if (await isListening(path)) return "reused";
      // A socket file nobody listens on: a SIGKILLed daemon's leftover.
      try {
        unlinkSync(path);
      } catch {
        // removed concurrently
      }
    }
  }
  throw new Error(`cannot bind shim socket ${path}`);
}

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ path }, () => {
      server.off("error", reject);
      chmodSync(path, 0o600);
      resolve(server);
    });
  });
}

/** True if something accepts connections at `path` within 100 ms. */
export function isListening(path: string): Promise<boolean> {
  if (!existsSync(path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (result: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => {
      done(false);
    }, PROBE_TIMEOUT_MS);
    socket.once("connect", () => {
      done(true);
    });
    socket.once("error", () => {
      done(false);
    });
  });
}

/** How to launch a daemon: which entry script, its flags, the bound socket, where its stderr goes. */
export interface DaemonLaunch {
  readonly script: string;
  readonly flags: Pick<ShimFlags, "namespace" | "id" | "address" | "debug" | "socket">;
  readonly server: Server;
  readonly cwd: string;
  /** The daemon's stderr: an fd of ours (the bundle's log FIFO, a log file) or "ignore". */
  readonly stderr: "ignore" | number;
}

/** Starts the daemon detached, with the listening socket as fd 3 and /dev/null as stdio. Returns its pid. */
export function launchDaemon(launch: DaemonLaunch): number {
  const { flags } = launch;
  const fd = (launch.server as unknown as { _handle: { fd: number } })._handle.fd;
  const args = [
    ...process.execArgv,
    launch.script,
    "-namespace",
    flags.namespace,
    "-id",
    flags.id,
    "-address",
    flags.address,
    ...(flags.socket === "" ? [] : ["-socket", flags.socket]),
    ...(flags.debug ? ["-debug"] : []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: launch.cwd,
    detached: true,
    stdio: ["ignore", "ignore", launch.stderr, fd],
    env: process.env,
  });
  child.unref();
  if (child.pid === undefined) throw new Error("cannot start the shim daemon");
  return child.pid;
}

function writeAtomic(path: string, content: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode: 0o644 });
  renameSync(temporary, path);
}

/** The daemon is a little more killable than containerd under memory pressure, as containerd expects. */
function adjustOomScore(pid: number): void {
  try {
    const own = Number.parseInt(readFileSync("/proc/self/oom_score_adj", "utf8"), 10);
    writeFileSync(`/proc/${pid}/oom_score_adj`, String(Math.min(1000, own + 1)));
  } catch {
    // Not permitted (unprivileged): the default score is fine.
  }
}

/** runc Options.shim_cgroup: move the daemon into that cgroup (v1: every hierarchy that has the path; v2: the one). */
function moveToCgroup(pid: number, cgroup: string): void {
  const root = "/sys/fs/cgroup";
  const candidates = existsSync(join(root, "cgroup.controllers"))
    ? [root]
    : readdirSync(root).map((hierarchy) => join(root, hierarchy));
  let moved = false;
  for (const hierarchy of candidates) {
    const procs = join(hierarchy, cgroup, "cgroup.procs");
    if (!existsSync(procs)) continue;
    writeFileSync(procs, String(pid));
    moved = true;
  }
  if (!moved) throw new Error(`shim cgroup "${cgroup}" does not exist`);
}
