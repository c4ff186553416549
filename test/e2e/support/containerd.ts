/**
 * A private containerd per test file: its own temp dir (root, state, sockets, config, log), its own namespace, driven
 * by the real `ctr`, and a teardown that leaves nothing behind — tasks, containers, snapshots, images, the daemon,
 * shim daemons, shim sockets under /run/containerd/s, OCI runtime state and mounts — all found by pid, address or
 * path, never by process name. Test support only (uses node:child_process; never load husk's native reaper here).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeRootfs } from "../../support/make-rootfs.js";
import { writeOciImage } from "../../support/oci-image.js";
import { type CtrOptions, type CtrProcess, type CtrResult, describeResult, runCtr, spawnCtr } from "./ctr.js";
import { type EventStream, events } from "./events.js";
import {
  isAlive,
  mountsUnder,
  ownedProcesses,
  type ProcStat,
  SHIM_SOCKET_DIR,
  shimSocketPath,
  zombieChildren,
} from "./procfs.js";
import { containerdPath } from "./runtime.js";

/** Re-exported so scenario files can take the ctr types from the harness module. */
export type { CtrOptions, CtrProcess, CtrResult } from "./ctr.js";

/** Options for {@link startContainerd}. */
export interface StartContainerdOptions {
  /** Keep the CRI plugin enabled (default: disabled). */
  readonly cri?: boolean;
  /** Run containerd at log level debug (shims then get `-debug`). Default: info. */
  readonly debug?: boolean;
  /** Prefix of the temp dir name (default `husk-e2e`). */
  readonly name?: string;
  /**
   * Snapshotter for image runs, passed to every ctr call as `CONTAINERD_SNAPSHOTTER`. Default: `overlayfs`, or
   * `native` when the temp dir itself lives on overlayfs (overlay upper dirs cannot be on overlay).
   */
  readonly snapshotter?: string;
}

/** Options for {@link Containerd.restart}. */
export interface RestartOptions {
  /** Runs after containerd has exited and before it is started again. */
  readonly whileStopped?: () => Promise<void> | void;
}

/** A running private containerd; see {@link startContainerd}. */
export interface Containerd {
  /** gRPC socket (`<tmpDir>/containerd.sock`). */
  readonly address: string;
  /** ttrpc socket (containerd's default, `<address>.ttrpc`), the one shims publish events to. */
  readonly ttrpcAddress: string;
  readonly tmpDir: string;
  readonly rootDir: string;
  readonly stateDir: string;
  readonly configFile: string;
  /** containerd's stdout+stderr, appended across restarts. */
  readonly logFile: string;
  /** Snapshotter `ctr` uses for images (see {@link StartContainerdOptions.snapshotter}). */
  readonly snapshotter: string;
  /** The namespace every `ctr` call uses unless told otherwise; unique per harness instance. */
  readonly namespace: string;
  /** Current containerd pid (changes on restart). */
  readonly pid: number;
  /** Set when a test wrapped in {@link Containerd.diagnose} failed; the temp dir is then kept. */
  readonly failed: boolean;
  /** Runs `ctr --address … --namespace … ARGS`; adds `--fifo-dir <tmpDir>/fifo` to `run` and `task exec`. */
  ctr(args: readonly string[], options?: CtrOptions): Promise<CtrResult>;
  /** Like {@link Containerd.ctr} but throws (with argv, exit and both streams) unless ctr exits 0. */
  ctrOk(args: readonly string[], options?: CtrOptions): Promise<CtrResult>;
  /** Starts a long-running `ctr` (e.g. `events`); stopped by pid at teardown. */
  ctrSpawn(args: readonly string[], options?: Pick<CtrOptions, "env" | "namespace">): CtrProcess;
  /** The full argv `ctr()` would use for ARGS (for running ctr some other way, e.g. under a pty). */
  ctrArgv(args: readonly string[], namespace?: string): string[];
  /** SIGTERM containerd (by pid), wait for it, start it again on the same dirs. Running shims must survive. */
  restart(options?: RestartOptions): Promise<void>;
  /** Full teardown (see module doc); idempotent; throws if something could not be cleaned. */
  stop(): Promise<void>;
  /**
   * Fails (after waiting up to `timeoutMs` for things to settle) listing everything of ours still around: tasks,
   * containers, zombie children of containerd or of the test, live shims/runtime/container processes, shim sockets,
   * runtime state, bundles, mounts. Wrap it in {@link Containerd.diagnose} to get the log tail and keep the temp dir.
   */
  assertNoLeaks(timeoutMs?: number): Promise<void>;
  /** Last `lines` lines of the containerd log. */
  logTail(lines?: number): string;
  /** Runs `fn`; on failure marks the harness failed and appends the containerd log tail and recent events. */
  diagnose<T>(fn: () => Promise<T>): Promise<T>;
  /** A fresh valid container id, unique within this harness: `<prefix>-<n>`. */
  newId(prefix: string): string;
  /** The bundle containerd creates for a task: `<state>/io.containerd.runtime.v2.task/<ns>/<id>`. */
  bundleDir(id: string, namespace?: string): string;
  /** OCI runtime state dir the runc shim uses by default for a namespace: `/run/containerd/runc/<ns>`. */
  runtimeRoot(namespace?: string): string;
  /** Socket path of a shim serving `key` (container id or group) in our namespace; tracked for cleanup. */
  shimSocket(key: string, namespace?: string): string;
  /** A busybox rootfs under the temp dir for `ctr run --rootfs` (created on first use). */
  rootfs(): string;
  /** Imports the busybox OCI image (built from {@link Containerd.rootfs}) once and returns its name. */
  busyboxImage(): Promise<string>;
  /** A fresh empty directory under the temp dir (e.g. to bind-mount into a container). */
  scratchDir(prefix: string): string;
  /** The harness's own event recorder (all events since the last (re)start), for diagnostics. */
  readonly recorder: EventStream | undefined;
}

/** The label/annotation keys that make the runc shim (and husk) group containers into one daemon. */
const GROUP_KEYS = ["io.containerd.runc.v2.group", "io.kubernetes.cri.sandbox-id"];

/** statfs f_type of overlayfs (linux/magic.h OVERLAYFS_SUPER_MAGIC). */
const OVERLAYFS_MAGIC = 0x794c7630;

function defaultSnapshotter(dir: string): string {
  return statfsSync(dir).type === OVERLAYFS_MAGIC ? "native" : "overlayfs";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` (which lists problems) until it returns none or `timeoutMs` passes; returns the last problems. */
async function settle(check: () => Promise<string[]> | string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problems = await check();
    if (problems.length === 0 || Date.now() >= deadline) return problems;
    await sleep(200);
  }
}

function configToml(dirs: {
  root: string;
  state: string;
  address: string;
  opt: string;
  cri: boolean;
  debug: boolean;
}): string {
  const q = (value: string): string => JSON.stringify(value);
  return [
    "version = 2",
    `root = ${q(dirs.root)}`,
    `state = ${q(dirs.state)}`,
    dirs.cri ? "disabled_plugins = []" : 'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    "",
    "[grpc]",
    `  address = ${q(dirs.address)}`,
    "",
    "[debug]",
    `  level = ${q(dirs.debug ? "debug" : "info")}`,
    "",
    // The opt plugin would otherwise create /opt/containerd and prepend it to every shim's PATH.
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${q(dirs.opt)}`,
    "",
  ].join("\n");
}

class PrivateContainerd implements Containerd {
  readonly tmpDir: string;
  readonly rootDir: string;
  readonly stateDir: string;
  readonly address: string;
  readonly ttrpcAddress: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly namespace: string;
  readonly snapshotter: string;
  recorder: EventStream | undefined;
  failed = false;
  #child: ChildProcess | undefined;
  #childExited: Promise<void> = Promise.resolve();
  #pid = 0;
  #idCounter = 0;
  #spawned = new Set<CtrProcess>();
  /** "<ns>/<key>" for every container id and group we know of: their shim sockets are ours to check and remove. */
  #socketKeys = new Set<string>();
  #namespaces = new Set<string>();
  #rootfs: string | undefined;
  #image: Promise<string> | undefined;
  #stopped = false;
  readonly #killOnExit = (): void => {
    if (this.#pid > 0 && isAlive(this.#pid)) {
      try {
        process.kill(this.#pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };

  constructor(options: StartContainerdOptions) {
    this.tmpDir = mkdtempSync(join(tmpdir(), `${options.name ?? "husk-e2e"}-`));
    this.rootDir = join(this.tmpDir, "root");
    this.stateDir = join(this.tmpDir, "state");
    this.address = join(this.tmpDir, "containerd.sock");
    this.ttrpcAddress = `${this.address}.ttrpc`;
    this.configFile = join(this.tmpDir, "config.toml");
    this.logFile = join(this.tmpDir, "containerd.log");
    this.namespace = `e2e-${randomBytes(5).toString("hex")}`;
    this.snapshotter = options.snapshotter ?? defaultSnapshotter(this.tmpDir);
    this.#namespaces.add(this.namespace);
    writeFileSync(
      this.configFile,
      configToml({
        root: this.rootDir,
        state: this.stateDir,
        address: this.address,
        opt: join(this.tmpDir, "opt"),
        cri: options.cri ?? false,
        debug: options.debug ?? false,
      }),
    );
  }

  get pid(): number {
    return this.#pid;
  }

  ctrArgv(args: readonly string[], namespace = this.namespace): string[] {
    const withFifoDir = [...args];
    const fifoDir = ["--fifo-dir", join(this.tmpDir, "fifo")];
    // Keep ctr's FIFOs in our temp dir: detached runs and execs otherwise leave dirs in /run/containerd/fifo.
    if (args[0] === "run" || args[0] === "r") withFifoDir.splice(1, 0, ...fifoDir);
    else if (["task", "tasks", "t"].includes(args[0] ?? "") && args[1] === "exec")
      withFifoDir.splice(2, 0, ...fifoDir);
    return ["--address", this.address, "--namespace", namespace, ...withFifoDir];
  }

  #track(args: readonly string[], namespace: string): void {
    for (const arg of args) {
      for (const key of GROUP_KEYS) {
        if (arg.startsWith(`${key}=`)) this.#socketKeys.add(`${namespace}/${arg.slice(key.length + 1)}`);
      }
    }
  }

  ctr(args: readonly string[], options: CtrOptions = {}): Promise<CtrResult> {
    const namespace = options.namespace ?? this.namespace;
    this.#namespaces.add(namespace);
    this.#track(args, namespace);
    return runCtr(this.ctrArgv(args, namespace), {
      ...options,
      env: { CONTAINERD_SNAPSHOTTER: this.snapshotter, ...options.env },
    });
  }

  async ctrOk(args: readonly string[], options: CtrOptions = {}): Promise<CtrResult> {
    const result = await this.ctr(args, options);
    if (result.status !== 0) {
      // The containerd log tail is added by diagnose(); here only what ctr said.
      throw new Error(describeResult(result));
    }
    return result;
  }

  ctrSpawn(args: readonly string[], options: Pick<CtrOptions, "env" | "namespace"> = {}): CtrProcess {
    const namespace = options.namespace ?? this.namespace;
    const handle = spawnCtr(this.ctrArgv(args, namespace), {
      CONTAINERD_SNAPSHOTTER: this.snapshotter,
      ...options.env,
    });
    this.#spawned.add(handle);
    void handle.exited.then(() => this.#spawned.delete(handle));
    return handle;
  }

  newId(prefix: string): string {
    this.#idCounter += 1;
    return `${prefix}-${this.#idCounter}`;
  }

  bundleDir(id: string, namespace = this.namespace): string {
    return join(this.stateDir, "io.containerd.runtime.v2.task", namespace, id);
  }

  runtimeRoot(namespace = this.namespace): string {
    return join("/run/containerd/runc", namespace);
  }

  shimSocket(key: string, namespace = this.namespace): string {
    this.#socketKeys.add(`${namespace}/${key}`);
    return shimSocketPath(this.address, namespace, key);
  }

  rootfs(): string {
    this.#rootfs ??= makeRootfs(join(this.tmpDir, "rootfs"));
    return this.#rootfs;
  }

  scratchDir(prefix: string): string {
    return mkdtempSync(join(this.tmpDir, `${prefix}-`));
  }

  busyboxImage(): Promise<string> {
    this.#image ??= (async () => {
      const image = writeOciImage({
        rootfsDir: this.rootfs(),
        outFile: join(this.tmpDir, "busybox-oci.tar"),
        name: "docker.io/husk-e2e/busybox:latest",
      });
      await this.ctrOk(["images", "import", image.file]);
      return image.name;
    })();
    return this.#image;
  }

  logTail(lines = 60): string {
    try {
      return readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no containerd log)";
    }
  }

  async diagnose<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      this.failed = true;
      const extra =
        `\n--- containerd log (tail of ${this.logFile}) ---\n${this.logTail()}` +
        `\n--- recent events ---\n${this.recorder?.describe(30) ?? "(no recorder)"}`;
      if (error instanceof Error) {
        error.message += extra;
        throw error;
      }
      throw new Error(`${String(error)}${extra}`, { cause: error });
    }
  }

  /** Spawns containerd and waits until `ctr version` answers. */
  async start(): Promise<void> {
    const log = openSync(this.logFile, "a");
    let child: ChildProcess;
    try {
      // Own process group (detached) so a terminal's ^C does not reach it; cwd is the temp dir because containerd
      // looks for a dotted runtime's shim binary in its cwd first.
      child = spawn("containerd", ["--config", this.configFile], {
        cwd: this.tmpDir,
        env: { ...process.env, PATH: containerdPath() },
        stdio: ["ignore", log, log],
        detached: true,
      });
    } finally {
      closeSync(log);
    }
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start containerd; log:\n${this.logTail()}`);
    this.#child = child;
    this.#pid = pid;
    const state = { exited: false };
    this.#childExited = new Promise((resolve) => {
      child.on("exit", () => {
        state.exited = true;
        resolve();
      });
    });
    child.unref();
    process.on("exit", this.#killOnExit);

    const deadline = Date.now() + 60_000;
    for (;;) {
      if (state.exited) throw new Error(`containerd exited during start-up; log:\n${this.logTail()}`);
      const version = await runCtr(["--address", this.address, "version"], { timeoutMs: 10_000 });
      if (version.status === 0) break;
      if (Date.now() > deadline)
        throw new Error(`containerd did not answer within 60 s; log:\n${this.logTail()}`);
      await sleep(100);
    }
    // The namespace must exist for the event probe (labelling it) and for ctr's namespace listing.
    const created = await this.ctr(["namespaces", "create", this.namespace]);
    if (created.status !== 0 && !created.stderr.includes("already exists")) {
      throw new Error(describeResult(created));
    }
    this.recorder = await events(this);
    this.#recordIds(this.recorder);
  }

  /** Learns every container id containerd announces, so that its shim socket can be checked and removed. */
  #recordIds(recorder: EventStream): void {
    recorder.subscribe((e) => {
      const id = e.event.id;
      if (e.topic === "/containers/create" && typeof id === "string")
        this.#socketKeys.add(`${e.namespace}/${id}`);
    });
  }

  /** SIGTERM (then SIGKILL after `graceMs`) to containerd by pid; resolves once it has exited. */
  async #stopDaemon(graceMs = 20_000): Promise<void> {
    await this.recorder?.close();
    const child = this.#child;
    if (child === undefined) return;
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(this.#pid, "SIGTERM");
      const timer = setTimeout(() => {
        if (isAlive(this.#pid)) process.kill(this.#pid, "SIGKILL");
      }, graceMs);
      await this.#childExited;
      clearTimeout(timer);
    }
    process.off("exit", this.#killOnExit);
    this.#child = undefined;
  }

  async restart(options: RestartOptions = {}): Promise<void> {
    await this.#stopDaemon();
    await options.whileStopped?.();
    await this.start();
  }

  /** Container ids (and groups) named in the `address` files of bundles still on disk. */
  #keysFromBundles(): void {
    const base = join(this.stateDir, "io.containerd.runtime.v2.task");
    if (!existsSync(base)) return;
    for (const ns of readdirSync(base)) {
      for (const id of readdirSync(join(base, ns))) {
        this.#socketKeys.add(`${ns}/${id}`);
      }
    }
  }

  /** Existing shim sockets of ours: every tracked key hashed, plus sockets named by bundles' `address` files. */
  #ourSockets(): string[] {
    const paths = new Set<string>();
    for (const key of this.#socketKeys) {
      const slash = key.indexOf("/");
      paths.add(shimSocketPath(this.address, key.slice(0, slash), key.slice(slash + 1)));
    }
    const base = join(this.stateDir, "io.containerd.runtime.v2.task");
    if (existsSync(base)) {
      for (const ns of readdirSync(base)) {
        for (const id of readdirSync(join(base, ns))) {
          try {
            const address = readFileSync(join(base, ns, id, "address"), "utf8").trim();
            if (address.startsWith(`unix://${SHIM_SOCKET_DIR}/`)) paths.add(address.slice("unix://".length));
          } catch {
            // no address file (yet)
          }
        }
      }
    }
    return [...paths].filter((path) => existsSync(path));
  }

  #ownedProcesses(): ProcStat[] {
    return ownedProcesses({
      address: this.address,
      ttrpcAddress: this.ttrpcAddress,
      directory: this.tmpDir,
      exclude: [this.#pid, ...[...this.#spawned].map((h) => h.pid)],
    });
  }

  #runcContainers(namespace: string): string[] {
    const root = this.runtimeRoot(namespace);
    if (!existsSync(root)) return [];
    const listed = spawnSync("runc", ["--root", root, "list", "-q"], { encoding: "utf8" });
    return listed.stdout.split("\n").filter((line) => line.trim() !== "");
  }

  async #problems(): Promise<string[]> {
    const problems: string[] = [];
    if (this.#child !== undefined) {
      for (const ns of this.#namespaces) {
        const tasks = await this.ctr(["tasks", "ls", "-q"], { namespace: ns });
        if (tasks.stdout.trim() !== "") problems.push(`tasks left in ${ns}: ${tasks.stdout.trim()}`);
        const containers = await this.ctr(["containers", "ls", "-q"], { namespace: ns });
        if (containers.stdout.trim() !== "")
          problems.push(`containers left in ${ns}: ${containers.stdout.trim()}`);
      }
      const zombies = zombieChildren(this.#pid);
      if (zombies.length > 0) problems.push(`zombie children of containerd: ${JSON.stringify(zombies)}`);
    }
    const ourZombies = zombieChildren(process.pid);
    if (ourZombies.length > 0)
      problems.push(`zombie children of the test process: ${JSON.stringify(ourZombies)}`);
    const owned = this.#ownedProcesses();
    if (owned.length > 0)
      problems.push(`processes of ours alive (shims, runtime, containers): ${JSON.stringify(owned)}`);
    this.#keysFromBundles();
    const sockets = this.#ourSockets();
    if (sockets.length > 0) problems.push(`shim sockets left: ${sockets.join(", ")}`);
    for (const ns of this.#namespaces) {
      const left = this.#runcContainers(ns);
      if (left.length > 0) problems.push(`containers under ${this.runtimeRoot(ns)}: ${left.join(", ")}`);
      const bundles = join(this.stateDir, "io.containerd.runtime.v2.task", ns);
      if (existsSync(bundles) && readdirSync(bundles).length > 0) {
        problems.push(`bundles left in ${bundles}: ${readdirSync(bundles).join(", ")}`);
      }
    }
    const mounts = mountsUnder(this.tmpDir);
    if (mounts.length > 0) problems.push(`mounts under ${this.tmpDir}: ${mounts.join(", ")}`);
    return problems;
  }

  async assertNoLeaks(timeoutMs = 30_000): Promise<void> {
    const problems = await settle(() => this.#problems(), timeoutMs);
    if (problems.length > 0) throw new Error(`leaks:\n- ${problems.join("\n- ")}`);
  }

  /** Best-effort removal of everything inside containerd, namespace by namespace. */
  async #emptyContainerd(): Promise<void> {
    const listed = await this.ctr(["namespaces", "ls", "-q"]);
    const namespaces = new Set([
      ...this.#namespaces,
      ...listed.stdout.split("\n").filter((l) => l.trim() !== ""),
    ]);
    for (const ns of namespaces) {
      const opts = { namespace: ns, timeoutMs: 60_000 };
      const tasks = (await this.ctr(["tasks", "ls", "-q"], opts)).stdout.split("\n").filter((l) => l !== "");
      for (const id of tasks) {
        await this.ctr(["tasks", "kill", "-a", "-s", "SIGKILL", id], opts);
        // `delete -f` kills again if needed, waits for the exit and deletes.
        await this.ctr(["tasks", "delete", "-f", id], opts);
      }
      const containers = (await this.ctr(["containers", "ls", "-q"], opts)).stdout
        .split("\n")
        .filter((l) => l !== "");
      for (const id of containers) {
        this.#socketKeys.add(`${ns}/${id}`);
        await this.ctr(["containers", "delete", id], opts);
      }
      const images = (await this.ctr(["images", "ls", "-q"], opts)).stdout
        .split("\n")
        .filter((l) => l !== "");
      if (images.length > 0) await this.ctr(["images", "rm", ...images], opts);
      // Snapshots form chains; remove leaves first by retrying until nothing more goes.
      for (let round = 0; round < 10; round++) {
        const snapshots = (await this.ctr(["snapshots", "ls"], opts)).stdout
          .split("\n")
          .slice(1)
          .map((line) => line.split(/\s+/)[0] ?? "")
          .filter((key) => key !== "");
        if (snapshots.length === 0) break;
        for (const key of snapshots) await this.ctr(["snapshots", "rm", key], opts);
      }
      if (ns !== "default") await this.ctr(["namespaces", "rm", ns], opts);
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const errors: string[] = [];
    if (this.#child !== undefined) {
      try {
        await this.#emptyContainerd();
      } catch (error) {
        errors.push(`emptying containerd: ${String(error)}`);
      }
    }
    for (const handle of [...this.#spawned]) await handle.stop();
    await this.#stopDaemon();
    this.#keysFromBundles();

    // Shim daemons and their runtime commands, by pid.
    const owned = await settle(() => {
      const left = this.#ownedProcesses();
      for (const proc of left) {
        try {
          process.kill(proc.pid, "SIGKILL");
        } catch {
          // raced with its exit
        }
      }
      return left.map((p) => `${p.pid} ${p.comm}`);
    }, 10_000);
    if (owned.length > 0) errors.push(`could not kill: ${owned.join(", ")}`);

    // Containers the runtime still knows (e.g. after a shim was SIGKILLed): force-delete them.
    for (const ns of this.#namespaces) {
      const root = this.runtimeRoot(ns);
      for (const id of this.#runcContainers(ns)) {
        spawnSync("runc", ["--root", root, "delete", "--force", id], { encoding: "utf8" });
      }
      const left = this.#runcContainers(ns);
      if (left.length > 0) errors.push(`runc containers left under ${root}: ${left.join(", ")}`);
      else rmSync(root, { recursive: true, force: true });
    }

    for (const socket of this.#ourSockets()) rmSync(socket, { force: true });

    for (const point of mountsUnder(this.tmpDir)) {
      const plain = spawnSync("umount", [point], { encoding: "utf8" });
      if (plain.status !== 0) spawnSync("umount", ["-l", point], { encoding: "utf8" });
    }
    const mounts = mountsUnder(this.tmpDir);
    if (mounts.length > 0) errors.push(`still mounted: ${mounts.join(", ")}`);

    if (this.failed || errors.length > 0) {
      process.stderr.write(`e2e: keeping ${this.tmpDir} for inspection (containerd log: ${this.logFile})\n`);
    } else if (mounts.length === 0) {
      rmSync(this.tmpDir, { recursive: true, force: true });
    }
    if (errors.length > 0) throw new Error(`e2e teardown incomplete:\n- ${errors.join("\n- ")}`);
  }
}

/**
 * Starts a private containerd (see module doc) and waits until it answers. Register `stop()` with `after` right
 * away; call `assertNoLeaks()` at the end of the file. Counterpart: what containerd's own integration tests do with
 * a daemon per suite (containerd `integration/client`), with `ctr` as the only client.
 */
export async function startContainerd(options: StartContainerdOptions = {}): Promise<Containerd> {
  const containerd = new PrivateContainerd(options);
  mkdirSync(join(containerd.tmpDir, "fifo"), { recursive: true });
  try {
    await containerd.start();
  } catch (error) {
    await containerd.stop().catch(() => undefined);
    throw error;
  }
  return containerd;
}
