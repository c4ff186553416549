/**
 * A container: one OCI bundle, its init process and its exec processes, their IO, its cgroup. Every operation goes
 * through the process state machines (src/process), which decide; this class performs the runtime calls they ask for
 * and publishes lifecycle events in the order src/container/events.ts promises.
 *
 * containerd counterpart: runtime/v2/runc/container.go plus the exit handling of runtime/v2/runc/task/service.go
 * (`handleInitExit`, `handleProcessExit`, `preStart`).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Cgroup, CgroupStats } from "../cgroups/index.js";
import {
  alreadyExists,
  Code,
  failedPrecondition,
  HuskError,
  invalidArgument,
  isHuskError,
  notFound,
} from "../errors.js";
import type { Logger } from "../log.js";
import type { LinuxResources, Process as OciProcess, OciRuntime, Spec } from "../oci/index.js";
import { isValidContainerId } from "../oci/index.js";
import {
  type CheckpointRequest,
  ExitLatch,
  type InitProcess,
  type InitStatus,
  type ProcessExit,
} from "../process/index.js";
import type { ProcessIO, StdioSpec } from "../stdio/index.js";
import { signalNumber, unmountRecursive } from "../sys/index.js";
import { ensureCheckpointSupported } from "./checkpoint.js";
import type { EventStream } from "./events.js";
import { Exec, type ExecOptions } from "./exec.js";

/** A snapshot of a container's init, as `husk state` and the shim's State RPC report it. */
export interface ContainerState {
  readonly id: string;
  readonly bundle: string;
  readonly pid: number;
  readonly status: InitStatus;
  readonly exitStatus: number | undefined;
  readonly exitedAt: Date | undefined;
  readonly terminal: boolean;
}

/** A process in the container, as `ps` lists it: the exec id for exec processes (and their children's pids). */
export interface ContainerProcess {
  readonly pid: number;
  readonly execId: string | undefined;
}

/** Everything a Container is built from; assembled by the Supervisor at create. */
export interface ContainerParts {
  readonly id: string;
  readonly bundle: string;
  readonly spec: Spec;
  /** Where pid files and the runtime log live. */
  readonly workDir: string;
  /** Remove workDir at delete (the supervisor made it; a shim's bundle is containerd's to remove). */
  readonly ownsWorkDir: boolean;
  readonly runtime: OciRuntime;
  readonly logFile: string;
  readonly init: InitProcess;
  readonly io: ProcessIO;
  readonly stdio: StdioSpec;
  readonly cgroup: Cgroup | undefined;
  /** Where rootfs mounts were mounted by husk (unmounted at delete). */
  readonly mountedRootfs: string | undefined;
  readonly events: EventStream;
  readonly log: Logger;
  readonly drainTimeoutMs: number;
  readonly onDeleted: (container: Container) => void;
}

/** How long an init exit waits for its execs' exits before it is published anyway. */
const EXEC_EXITS_WAIT_MS = 10_000;
/** How long a forced delete waits for the killed init to be reaped. */
const FORCE_KILL_WAIT_MS = 10_000;

export class Container {
  readonly id: string;
  readonly bundle: string;
  readonly pid: number;
  /** The init's stdio streams for `{kind: "pipe"}` specs. */
  readonly io: ProcessIO;
  readonly #parts: ContainerParts;
  readonly #init: InitProcess;
  readonly #execs = new Map<string, Exec>();
  /** Exec ids reserved while an Exec is being set up, so two concurrent adds of one id cannot both succeed. */
  readonly #reservedExecIds = new Set<string>();
  readonly #execStarts = new Set<Promise<unknown>>();
  readonly #waiters = new ExitLatch();
  readonly #ownPidNamespace: boolean;
  #startGate: Promise<void> = Promise.resolve();
  /** Set the moment the reaper reports the init's exit: the exit event's publication, which delete waits for. */
  #exitPublication: Promise<void> | undefined;
  #oomReported = 0;
  #oomWatch: { close(): void } | undefined;
  #deleting: Promise<ProcessExit | undefined> | undefined;

  constructor(parts: ContainerParts) {
    this.#parts = parts;
    this.id = parts.id;
    this.bundle = parts.bundle;
    this.pid = parts.init.pid;
    this.io = parts.io;
    this.#init = parts.init;
    this.#ownPidNamespace = (parts.spec.linux?.namespaces ?? []).some(
      (ns) => ns.type === "pid" && ns.path === undefined,
    );
  }

  /** The init's status: created, running, pausing, paused or stopped. */
  get status(): InitStatus {
    return this.#init.status;
  }

  state(): ContainerState {
    const exit = this.#init.exit;
    return {
      id: this.id,
      bundle: this.bundle,
      pid: this.pid,
      status: this.#init.status,
      exitStatus: exit?.status,
      exitedAt: exit?.exitedAt,
      terminal: this.#parts.stdio.terminal === true,
    };
  }

  /** The exec processes added and not yet deleted. */
  execs(): Exec[] {
    return [...this.#execs.values()];
  }

  /** The exec `execId`; NotFound when there is none. */
  exec(execId: string): Exec {
    const exec = this.#execs.get(execId);
    if (exec === undefined) throw notFound(`exec "${execId}" not found in container "${this.id}"`);
    return exec;
  }

  /** Starts the init (runtime start) and publishes `start`; returns the init pid. */
  async start(): Promise<number> {
    let openGate!: () => void;
    this.#startGate = new Promise((resolve) => {
      openGate = resolve;
    });
    try {
      await this.#init.start();
      this.#parts.events.publish({ type: "start", containerId: this.id, pid: this.pid });
      this.#watchOom();
      return this.pid;
    } catch (error) {
      // A non-sandbox init whose start failed is stopped with 128 and has no exit event: answer waiters here.
      const exit = this.#init.exit;
      if (exit !== undefined) this.#waiters.record(exit);
      throw error;
    } finally {
      openGate();
    }
  }

  /** Sends a signal (name or number) to the init, or with `all` to every process of the container. */
  async kill(signal: string | number, options: { readonly all?: boolean } = {}): Promise<void> {
    await this.#init.kill(parseSignal(signal), options.all === true);
  }

  /** Resolves once with the init's exit, after its exit event (so after its output drained). Never rejects. */
  wait(): Promise<ProcessExit> {
    return this.#waiters.wait();
  }

  async pause(): Promise<void> {
    await this.#init.pause();
    this.#parts.events.publish({ type: "paused", containerId: this.id });
  }

  async resume(): Promise<void> {
    await this.#init.resume();
    this.#parts.events.publish({ type: "resumed", containerId: this.id });
  }

  /** Changes resource limits (`runtime update --resources -`). */
  async update(resources: LinuxResources): Promise<void> {
    await this.#init.update(resources);
  }

  /** Checkpoints through the runtime (CRIU); NotImplemented where this host's CRIU cannot work. */
  async checkpoint(request: CheckpointRequest): Promise<void> {
    await ensureCheckpointSupported();
    await this.#init.checkpoint(request);
    this.#parts.events.publish({ type: "checkpointed", containerId: this.id, imagePath: request.imagePath });
  }

  /** Every process in the container (runtime ps), exec processes named by their exec id. */
  async pids(): Promise<ContainerProcess[]> {
    this.#init.assertCanStat();
    const pids = await this.#parts.runtime.ps(this.id, { logFile: this.#parts.logFile });
    const execByPid = new Map<number, string>();
    for (const exec of this.#execs.values()) {
      if (exec.pid !== 0) execByPid.set(exec.pid, exec.id);
    }
    return pids.map((pid) => ({ pid, execId: execByPid.get(pid) }));
  }

  /** cgroup statistics (v1 or v2 metrics); NotFound when the container has no cgroup (e.g. crun without one). */
  async stats(): Promise<CgroupStats> {
    this.#init.assertCanStat();
    const cgroup = this.#parts.cgroup;
    if (cgroup === undefined) throw notFound(`cgroup of container "${this.id}" does not exist`);
    return cgroup.stats();
  }

  /** Closes the init's stdin (containerd's CloseIO). */
  closeIO(): void {
    this.#init.assertCanResize();
    this.io.closeStdin();
  }

  /** Sets the init's pty size; a no-op without a terminal. */
  resize(width: number, height: number): void {
    this.#init.assertCanResize();
    this.io.resize(width, height);
  }

  /**
   * Adds an exec process (not started) and publishes `exec-added`. AlreadyExists for a used id; FailedPrecondition
   * unless the init is created or running.
   */
  addExec(options: ExecOptions): Exec {
    this.#init.assertCanExec();
    const execId = options.id;
    if (!isValidContainerId(execId)) throw invalidArgument(`exec id "${execId}" is not a valid identifier`);
    if (this.#execs.has(execId) || this.#reservedExecIds.has(execId)) {
      throw alreadyExists(`exec "${execId}" already exists in container "${this.id}"`);
    }
    this.#reservedExecIds.add(execId);
    try {
      const exec = Exec.create({
        options,
        container: this,
        init: this.#init,
        runtime: this.#parts.runtime,
        workDir: this.#parts.workDir,
        logFile: this.#parts.logFile,
        baseProcess: this.#parts.spec.process,
        events: this.#parts.events,
        log: this.#parts.log.child({ exec: execId }),
        drainTimeoutMs: this.#parts.drainTimeoutMs,
        trackStart: (start) => {
          this.#execStarts.add(start);
          void start.then(
            () => this.#execStarts.delete(start),
            () => this.#execStarts.delete(start),
          );
        },
        onDeleted: (deleted) => this.#execs.delete(deleted.id),
      });
      this.#execs.set(execId, exec);
      this.#parts.events.publish({ type: "exec-added", containerId: this.id, execId });
      return exec;
    } finally {
      this.#reservedExecIds.delete(execId);
    }
  }

  /**
   * Deletes the container: runtime delete, IO closed, rootfs unmounted, `delete` published (after the init's exit
   * event). FailedPrecondition while it runs; with `force`, kills it first. After this, the supervisor forgets it.
   */
  delete(options: { readonly force?: boolean } = {}): Promise<ProcessExit | undefined> {
    this.#deleting ??= this.#delete(options.force === true).finally(() => {
      this.#deleting = undefined;
    });
    return this.#deleting;
  }

  async #delete(force: boolean): Promise<ProcessExit | undefined> {
    if (force) await this.#forceStop();
    const exit = await this.#init.delete();
    // The exit event, if the init ran, is published before the delete event.
    await this.#exitPublication;
    await this.io.close();
    for (const exec of this.#execs.values()) await exec.release();
    this.#execs.clear();
    this.#stopOomWatch();
    if (this.#parts.mountedRootfs !== undefined) {
      try {
        unmountRecursive(this.#parts.mountedRootfs);
      } catch (error) {
        this.#parts.log.warn({ err: error }, "unmount rootfs failed");
      }
    }
    if (this.#parts.ownsWorkDir) {
      await rm(this.#parts.workDir, { recursive: true, force: true });
    } else {
      await rm(join(this.#parts.workDir, "init.pid"), { force: true });
    }
    const recorded = exit ?? this.#init.exit;
    if (recorded !== undefined) this.#waiters.record(recorded);
    this.#parts.onDeleted(this);
    this.#parts.events.publish({
      type: "delete",
      containerId: this.id,
      pid: this.pid,
      status: recorded?.status ?? 0,
      exitedAt: recorded?.exitedAt,
    });
    return recorded;
  }

  /**
   * SIGKILL the init and wait (bounded) for its exit, so a plain delete can follow. The init itself, not `kill --all`:
   * its death ends a pid-namespaced container, the exit handler kills the rest of one that shares a pid namespace, and
   * `--all` needs a cgroup that a runtime without a cgroup manager does not have.
   */
  async #forceStop(): Promise<void> {
    const status = this.#init.status;
    if (status === "stopped" || status === "created") return; // created: runtime delete kills the init itself
    try {
      await this.#init.kill(9, false);
    } catch (error) {
      if (!(isHuskError(error) && error.code === Code.NotFound)) throw error;
    }
    const exited = await Promise.race([
      this.#waiters.wait().then(() => true),
      new Promise<boolean>((resolve) =>
        setTimeout(() => {
          resolve(false);
        }, FORCE_KILL_WAIT_MS).unref(),
      ),
    ]);
    if (!exited) throw failedPrecondition(`container "${this.id}" did not exit after SIGKILL`);
  }

  /**
   * The reaper reported the init's exit. Records it (after any in-flight operation, so an exit during `runtime start`
   * follows the start), then publishes it in order: after the start event, after an OOM that caused it, after every
   * exec's exit, after the output drained.
   */
  handleInitExit(status: number, exitedAt: Date): void {
    this.#exitPublication = this.#publishInitExit(status, exitedAt).catch((error: unknown) => {
      this.#parts.log.error({ err: error }, "init exit handling failed");
    });
  }

  async #publishInitExit(status: number, exitedAt: Date): Promise<void> {
    await this.#init.setExited(status, exitedAt);
    const exit = this.#init.exit;
    // Not ours to publish: the init was deleted before it ran, or its failed start already recorded 128.
    if (exit === undefined || exit.status !== status || exit.exitedAt.getTime() !== exitedAt.getTime())
      return;
    await this.#startGate;
    this.#checkOom();
    if (!this.#ownPidNamespace) {
      // Sharing a pid namespace: nothing kills the rest of the container when its init dies. Do it.
      await this.#parts.runtime
        .kill(this.id, 9, { all: true, logFile: this.#parts.logFile })
        .catch((error: unknown) => {
          this.#parts.log.debug({ err: error }, "kill --all after init exit failed");
        });
    }
    await this.#execExitsPublished();
    await this.io.drain(this.#parts.drainTimeoutMs);
    this.#stopOomWatch();
    this.#parts.events.publish({
      type: "exit",
      containerId: this.id,
      id: this.id,
      execId: undefined,
      pid: this.pid,
      status: exit.status,
      exitedAt: exit.exitedAt,
    });
    this.#waiters.record(exit);
  }

  async #execExitsPublished(): Promise<void> {
    await Promise.allSettled([...this.#execStarts]);
    const pending = [...this.#execs.values()]
      .filter((exec) => exec.started)
      .map((exec) => exec.exitPublished);
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.#parts.log.warn({ pending: pending.length }, "exec exits still pending; publishing init exit");
        resolve();
      }, EXEC_EXITS_WAIT_MS);
    });
    await Promise.race([Promise.all(pending), timeout]);
    clearTimeout(timer);
  }

  #watchOom(): void {
    const cgroup = this.#parts.cgroup;
    if (cgroup === undefined || this.#oomWatch !== undefined) return;
    try {
      this.#oomWatch = cgroup.watchOom(() => {
        this.#checkOom();
      });
    } catch (error) {
      this.#parts.log.warn({ err: error }, "cannot watch for oom events");
    }
  }

  #stopOomWatch(): void {
    this.#oomWatch?.close();
    this.#oomWatch = undefined;
  }

  /**
   * Publishes `oom` once per increase of the cgroup's oom-kill counter. Synchronous (the counter is an in-memory
   * cgroup file), so the watcher and the exit path can never count one increase twice.
   */
  #checkOom(): void {
    const cgroup = this.#parts.cgroup;
    if (cgroup === undefined) return;
    let count: number;
    try {
      count = cgroup.oomKillCount();
    } catch {
      return; // the cgroup is gone: nothing more can be killed in it
    }
    if (count > this.#oomReported) {
      this.#oomReported = count;
      this.#parts.events.publish({ type: "oom", containerId: this.id });
    }
  }
}

/** The runtime process JSON of an exec: the container's own process settings, overridden by the exec's. */
export function execProcessSpec(base: OciProcess | undefined, override: Partial<OciProcess>): OciProcess {
  const args = override.args ?? [];
  if (args.length === 0) throw invalidArgument("exec process has no args");
  return {
    ...(base ?? { cwd: "/", user: { uid: 0, gid: 0 } }),
    ...override,
    args,
  };
}

function parseSignal(signal: string | number): number {
  try {
    return signalNumber(signal);
  } catch (error) {
    throw HuskError.from(error, "kill");
  }
}
