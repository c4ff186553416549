/**
 * The Supervisor: many containers in one Node process, no daemon required. It owns the process's children (it makes
 * this process a child subreaper with one reaper thread), so every container init and exec — re-parented to us once
 * the runtime command exits — is reaped here and its exit is never missed, even when it dies at once.
 *
 * Usage: `const sup = createSupervisor({ stateDir })`, then `sup.create({ id, bundle })` → `Container`.
 *
 * containerd counterpart: runtime/v2/runc/task/service.go (the container map and exit dispatch) and
 * runtime/v2/runc/container.go `NewContainer`.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { basename, isAbsolute, join, resolve } from "node:path";
import { type Cgroup, loadCgroup } from "../cgroups/index.js";
import { alreadyExists, Code, HuskError, invalidArgument, isHuskError, notFound } from "../errors.js";
import { type Logger, silentLogger } from "../log.js";
import { createOciRuntime, type OciRuntime, type Spec, validateContainerId } from "../oci/index.js";
import { InitProcess, type InitRuntime } from "../process/index.js";
import { openProcessIO, type ProcessIO, type StdioSpec } from "../stdio/index.js";
import { getReaper, type MountSpec, mountAll, unmountRecursive } from "../sys/index.js";
import { checkpointFlags } from "./checkpoint.js";
import { Container } from "./container.js";
import { EventStream, type LifecycleEvent } from "./events.js";
import { DEFAULT_STDIO } from "./exec.js";

/** Which OCI runtime runs a container, and how. */
export interface RuntimeSelection {
  /** `runc` (default), `crun`, `runsc`, or a path to one of them. */
  readonly binary?: string;
  /** The runtime's state root (`--root`). Default: `<stateDir>/<binary name>`. */
  readonly root?: string;
  readonly systemdCgroup?: boolean;
  /** Extra global flags, e.g. `--cgroup-manager=disabled` for crun. */
  readonly globalArgs?: readonly string[];
  readonly noPivotRoot?: boolean;
  readonly noNewKeyring?: boolean;
  readonly debug?: boolean;
}

export interface SupervisorOptions {
  /** Where per-container work dirs (pid files, runtime logs) go. Default `/run/husk`. */
  readonly stateDir?: string;
  /** Default runtime for containers that do not choose their own. */
  readonly runtime?: RuntimeSelection;
  readonly logger?: Logger;
  /** How long an exit waits for the process's output to drain before it is published anyway. Default 2000 ms. */
  readonly drainTimeoutMs?: number;
}

export interface CreateOptions {
  /** Alphanumerics joined by single `.`, `_` or `-`, at most 76 characters (containerd's rule). */
  readonly id: string;
  /** An OCI bundle: a directory with config.json (see `writeBundle`). */
  readonly bundle: string;
  /** Default: stdin /dev/null, stdout and stderr as Node streams on `container.io`. */
  readonly stdio?: StdioSpec;
  readonly runtime?: RuntimeSelection;
  /**
   * A pod sandbox (its failed start leaves it created); default from the CRI annotations. A non-sandbox container whose
   * start fails becomes stopped with exit status 128.
   */
  readonly sandbox?: boolean;
  /** Mounted, in order, onto `<bundle>/rootfs` before create and unmounted at delete (containerd's snapshot mounts). */
  readonly rootfsMounts?: readonly MountSpec[];
  /** Where pid files and the runtime log go; default `<stateDir>/<id>` (removed at delete). */
  readonly workDir?: string;
}

const DEFAULT_STATE_DIR = "/run/husk";
const DEFAULT_DRAIN_TIMEOUT_MS = 2000;
const SANDBOX_ANNOTATIONS = ["io.kubernetes.cri.container-type", "io.kubernetes.cri-o.ContainerType"];

/** Creates a supervisor. The first one in a process starts the reaper and makes the process a child subreaper. */
export function createSupervisor(options: SupervisorOptions = {}): Supervisor {
  return new Supervisor(options);
}

export class Supervisor {
  readonly stateDir: string;
  readonly #options: SupervisorOptions;
  readonly #log: Logger;
  readonly #containers = new Map<string, Container>();
  readonly #reserved = new Set<string>();
  readonly #events = new EventStream();
  readonly #stopStrangers: () => void;
  #ownCgroup: Promise<Cgroup | undefined> | undefined;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.stateDir = resolve(options.stateDir ?? DEFAULT_STATE_DIR);
    this.#log = options.logger ?? silentLogger;
    this.#stopStrangers = getReaper().onStranger((exit) => {
      this.#log.debug({ pid: exit.pid, status: exit.status }, "reaped an orphan");
    });
  }

  /** Calls `listener` for every lifecycle event, in order; returns the unsubscribe function. */
  subscribe(listener: (event: LifecycleEvent) => void): () => void {
    return this.#events.subscribe(listener);
  }

  /** Every later lifecycle event, in order, as an async iterator. */
  events(signal?: AbortSignal): AsyncGenerator<LifecycleEvent> {
    return this.#events.iterate(signal);
  }

  /** The container `id`; NotFound when there is none. */
  get(id: string): Container {
    const container = this.#containers.get(id);
    if (container === undefined) throw notFound(`container "${id}" not found`);
    return container;
  }

  /** The container `id`, or undefined. */
  find(id: string): Container | undefined {
    return this.#containers.get(id);
  }

  list(): Container[] {
    return [...this.#containers.values()];
  }

  get size(): number {
    return this.#containers.size + this.#reserved.size;
  }

  /**
   * Creates a container (runtime create: the init exists, stopped before the user's program runs) and publishes
   * `create`. On any failure everything done so far is undone: no runtime container, mount, work dir or fd is left.
   */
  async create(options: CreateOptions): Promise<Container> {
    const id = validateContainerId(options.id);
    if (this.#containers.has(id) || this.#reserved.has(id))
      throw alreadyExists(`container "${id}" already exists`);
    this.#reserved.add(id);
    const undo: (() => Promise<void> | void)[] = [];
    try {
      const container = await this.#create(id, options, undo);
      this.#containers.set(id, container);
      return container;
    } catch (error) {
      for (const step of undo.reverse()) {
        try {
          await step();
        } catch (cleanupError) {
          this.#log.warn({ err: cleanupError, id }, "cleanup after failed create");
        }
      }
      throw isHuskError(error) ? error : HuskError.from(error, `create container "${id}"`);
    } finally {
      this.#reserved.delete(id);
    }
  }

  async #create(
    id: string,
    options: CreateOptions,
    undo: (() => Promise<void> | void)[],
  ): Promise<Container> {
    const bundle = resolve(options.bundle);
    const spec = await readSpec(bundle);
    const log = this.#log.child({ id });
    const selection = { ...this.#options.runtime, ...options.runtime };
    const runtime = this.#runtimeFor(selection);

    let mountedRootfs: string | undefined;
    const rootfs = rootfsPath(bundle, spec);
    if (options.rootfsMounts !== undefined && options.rootfsMounts.length > 0) {
      await mkdir(rootfs, { recursive: true, mode: 0o711 });
      mountAll(options.rootfsMounts, rootfs);
      mountedRootfs = rootfs;
      undo.push(() => {
        unmountRecursive(rootfs);
      });
    } else if (!existsSync(rootfs)) {
      throw notFound(`rootfs "${rootfs}" does not exist`);
    }

    const ownsWorkDir = options.workDir === undefined;
    const workDir = resolve(options.workDir ?? join(this.stateDir, id));
    await mkdir(workDir, { recursive: true, mode: 0o711 });
    if (ownsWorkDir) undo.push(() => rm(workDir, { recursive: true, force: true }));
    const logFile = join(workDir, "log.json");
    const pidFile = join(workDir, "init.pid");

    const stdio = options.stdio ?? DEFAULT_STDIO;
    const io = await openProcessIO(stdio, { logger: log });
    undo.push(() => io.close());

    // Open the capture before the runtime runs: the init may die before we have even read its pid file.
    const capture = getReaper().capture();
    let pid: number;
    let exit: ReturnType<typeof capture.waitFor>;
    try {
      try {
        pid = await runtime.create(id, {
          bundle,
          pidFile,
          logFile,
          stdio: io.runtimeStdio,
          ...(io.consoleSocketPath === undefined ? {} : { consoleSocket: io.consoleSocketPath }),
          ...(selection.noPivotRoot === true ? { noPivot: true } : {}),
          ...(selection.noNewKeyring === true ? { noNewKeyring: true } : {}),
        });
      } catch (error) {
        // A runtime container of that id that existed before us is not ours to remove; anything else a failed create
        // may have left half made is.
        if (!(isHuskError(error) && error.code === Code.AlreadyExists)) {
          await runtime.delete(id, { force: true, logFile }).catch(() => undefined);
        }
        throw error;
      }
      undo.push(() => runtime.delete(id, { force: true, logFile }).catch(() => undefined));
      exit = capture.waitFor(pid);
      await io.started();
    } finally {
      capture.close();
    }

    const cgroup = await this.#containerCgroup(pid, log);
    const init = new InitProcess({
      id,
      pid,
      sandbox: options.sandbox ?? isSandbox(spec),
      runtime: initRuntime(id, runtime, logFile, io),
    });
    const container = new Container({
      id,
      bundle,
      spec,
      workDir,
      ownsWorkDir,
      runtime,
      logFile,
      init,
      io,
      stdio,
      cgroup,
      mountedRootfs,
      events: this.#events,
      log,
      drainTimeoutMs: this.#options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
      onDeleted: (deleted) => {
        if (this.#containers.get(deleted.id) === deleted) this.#containers.delete(deleted.id);
      },
    });
    void exit.then((reaped) => {
      container.handleInitExit(reaped.status, reaped.exitedAt);
    });
    this.#events.publish({ type: "create", containerId: id, bundle, pid });
    return container;
  }

  /**
   * Force-deletes every container (kill, reap, runtime delete, IO closed) and stops listening to the reaper.
   * Containers are not meant to outlive the supervisor that watches them.
   */
  async close(): Promise<void> {
    await Promise.allSettled(
      this.list().map((container) =>
        container.delete({ force: true }).catch((error: unknown) => {
          this.#log.warn({ err: error, id: container.id }, "delete at close failed");
        }),
      ),
    );
    this.#stopStrangers();
  }

  /**
   * The container's own cgroup, or undefined when it has none. A runtime running without a cgroup manager (crun with
   * `--cgroup-manager=disabled`) leaves the container in its parent's cgroups — ours: those are not the container's,
   * and reporting their stats or OOMs as the container's would be wrong. Our own cgroup is read once.
   */
  async #containerCgroup(pid: number, log: Logger): Promise<Cgroup | undefined> {
    try {
      const cgroup = await loadCgroup(pid);
      if (cgroup === undefined) return undefined;
      this.#ownCgroup ??= loadCgroup(process.pid);
      const own = await this.#ownCgroup;
      if (own !== undefined && sameDirectories(cgroup, own)) {
        log.debug({ pid }, "the container shares our cgroup: it has none of its own");
        return undefined;
      }
      return cgroup;
    } catch (error) {
      log.debug({ err: error }, "no cgroup for the container");
      return undefined;
    }
  }

  #runtimeFor(selection: RuntimeSelection): OciRuntime {
    const binary = selection.binary ?? "runc";
    return createOciRuntime({
      binary,
      root: selection.root ?? join(this.stateDir, basename(binary)),
      ...(selection.systemdCgroup === undefined ? {} : { systemdCgroup: selection.systemdCgroup }),
      ...(selection.debug === undefined ? {} : { debug: selection.debug }),
      ...(selection.globalArgs === undefined ? {} : { globalArgs: selection.globalArgs }),
    });
  }
}

/** The init's runtime actions, for its state machine. */
function initRuntime(id: string, runtime: OciRuntime, logFile: string, io: ProcessIO): InitRuntime {
  return {
    start: () => runtime.start(id, { logFile }),
    delete: async () => {
      try {
        await runtime.delete(id, { logFile });
      } catch (error) {
        // Already gone (e.g. removed by the runtime after a checkpoint with exit): that is what delete wanted.
        if (!(isHuskError(error) && error.code === Code.NotFound)) throw error;
      }
    },
    kill: (signal, all) => runtime.kill(id, signal, { all, logFile }),
    pause: () => runtime.pause(id, { logFile }),
    resume: () => runtime.resume(id, { logFile }),
    update: (resources) => runtime.update(id, resources as never, { logFile }),
    checkpoint: (request) => runtime.checkpoint(id, { ...checkpointFlags(request), logFile }),
    closeIO: () => io.close(),
  };
}

async function readSpec(bundle: string): Promise<Spec> {
  let text: string;
  try {
    text = await readFile(join(bundle, "config.json"), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw notFound(`bundle "${bundle}" has no config.json`, error);
    }
    throw HuskError.from(error, `read bundle "${bundle}"`);
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (error) {
    throw invalidArgument(`config.json of bundle "${bundle}" is not valid JSON`, error);
  }
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw invalidArgument(`config.json of bundle "${bundle}" is not an OCI spec object`);
  }
  const args = (spec as Spec).process?.args;
  if (!Array.isArray(args) || args.length === 0) {
    throw invalidArgument(`config.json of bundle "${bundle}" has no process.args`);
  }
  if (typeof (spec as Spec).root?.path !== "string") {
    throw invalidArgument(`config.json of bundle "${bundle}" has no root.path`);
  }
  return spec as Spec;
}

function rootfsPath(bundle: string, spec: Spec): string {
  const path = spec.root?.path ?? "rootfs";
  return isAbsolute(path) ? path : join(bundle, path);
}

/** CRI marks a pod's sandbox (pause) container; a spec without the annotation is not a sandbox for this rule. */
function isSandbox(spec: Spec): boolean {
  const annotations = spec.annotations ?? {};
  return SANDBOX_ANNOTATIONS.some((key) => annotations[key] === "sandbox");
}

function sameDirectories(a: Cgroup, b: Cgroup): boolean {
  return (
    a.directories.size === b.directories.size &&
    [...a.directories].every(([k, v]) => b.directories.get(k) === v)
  );
}
