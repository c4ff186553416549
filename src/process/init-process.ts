/**
 * A container's init process: applies the decisions of `decideInit` (see `init-machine.ts` for the
 * table), calls the runtime, holds the exit and serialises operations.
 *
 * containerd counterpart: `pkg/process` `Init` (`init.go`) with its state objects.
 */
import { assertNever } from "./decision.js";
import { bestEffort, executeRun, type RunHost } from "./execute.js";
import { ExitLatch } from "./exit-latch.js";
import {
  decideInit,
  type InitCall,
  type InitDecision,
  type InitOp,
  type InitRun,
  type InitState,
  type InitStatus,
  initStatusOf,
} from "./init-machine.js";
import { Mutex } from "./mutex.js";
import type { CheckpointRequest, ProcessExit } from "./types.js";

export type { CheckpointRequest, ProcessExit } from "./types.js";

/**
 * What the init needs from the layer below, bound to one container: the container layer implements
 * it over the OCI runtime driver and the process IO. Every method settles in bounded time (the
 * runtime layer applies timeouts) and must never wait for this process's exit or for another
 * operation on it; errors should already be HuskErrors (e.g. kill of a finished process → NotFound),
 * anything else is wrapped as Unknown.
 */
export interface InitRuntime {
  /** Start the created container (`runc start`). */
  start(): Promise<void>;
  /** Delete the container from the runtime and release its IO. */
  delete(): Promise<void>;
  /** Send `signal` to the init, or with `all` to every process of the container. */
  kill(signal: number, all: boolean): Promise<void>;
  /** Freeze every process of the container. */
  pause(): Promise<void>;
  /** Thaw the container. Also used best-effort, with its error ignored. */
  resume(): Promise<void>;
  /** Apply new resource limits (OCI `LinuxResources` as parsed JSON). */
  update(resources: unknown): Promise<void>;
  /** Checkpoint the container (CRIU through the runtime). */
  checkpoint(options: CheckpointRequest): Promise<void>;
  /** Close the process IO (used when a start fails; best-effort, its error is ignored). */
  closeIO(): Promise<void>;
}

/** Construction options of an {@link InitProcess}. */
export interface InitProcessOptions {
  /** The container id. */
  readonly id: string;
  /** The init's host pid (known once the runtime created the container). */
  readonly pid: number;
  /**
   * True for a sandbox (pod) container: a failed start leaves it created instead of stopped.
   * containerd counterpart: gVisor's shim `Init.Sandbox`.
   */
  readonly sandbox: boolean;
  /** The runtime actions for this container. */
  readonly runtime: InitRuntime;
}

/**
 * A container's init process. Every state-changing operation runs under a per-process FIFO mutex,
 * so each sees the state its predecessors left; `state`, `status`, `exit`, `wait()` and the
 * `assertCan…` checks never take it and answer at once (so `pausing` is visible while a Pause runs).
 *
 * Kill takes the mutex too, like containerd's `Init.Kill`: it waits at most for one in-flight runtime
 * call, which the runtime layer bounds, and in exchange it always acts on a settled state.
 *
 * Errors: refusals are the table's typed errors; a runtime error passes through when it is a
 * HuskError and is wrapped (`"<op> container \"<id>\": …"`, code Unknown or by errno) otherwise.
 */
export class InitProcess {
  /** The container id. */
  readonly id: string;
  /** The init's host pid. */
  readonly pid: number;
  /** Whether a failed start leaves the container created (sandbox) or stopped. */
  readonly sandbox: boolean;
  readonly #runtime: InitRuntime;
  readonly #mutex = new Mutex();
  readonly #latch = new ExitLatch();
  #state: InitState = "created";

  constructor(options: InitProcessOptions) {
    this.id = options.id;
    this.pid = options.pid;
    this.sandbox = options.sandbox;
    this.#runtime = options.runtime;
  }

  /** The machine state, including `pausing` and `deleted`. */
  get state(): InitState {
    return this.#state;
  }

  /** The status to report: the state, with `deleted` shown as `stopped`. */
  get status(): InitStatus {
    return initStatusOf(this.#state);
  }

  /** The recorded exit, or undefined while the process has not exited. Never changes once set. */
  get exit(): ProcessExit | undefined {
    return this.#latch.exit;
  }

  /**
   * Resolves exactly once, with the first recorded exit: the reaper's, or status 128 when a
   * non-sandbox start failed or the container was deleted while created. Never rejects.
   * containerd counterpart: `Init.Wait`.
   */
  wait(): Promise<ProcessExit> {
    return this.#latch.wait();
  }

  /** Starts the created container. containerd counterpart: `Init.Start`. */
  async start(): Promise<void> {
    await this.#perform({ kind: "start", sandbox: this.sandbox });
  }

  /**
   * Deletes the container from the runtime (created or stopped only) and resolves with the recorded
   * exit. containerd counterpart: `Init.Delete`.
   */
  async delete(): Promise<ProcessExit | undefined> {
    await this.#perform({ kind: "delete" });
    return this.#latch.exit;
  }

  /**
   * Sends `signal` (a number, 0..64) to the init, or to all processes of the container with `all`.
   * A finished process answers SIGTERM/SIGKILL with success and other signals with NotFound.
   * containerd counterpart: `Init.Kill`.
   */
  async kill(signal: number, all = false): Promise<void> {
    await this.#perform({ kind: "kill", signal, all });
  }

  /** Freezes a running container; `status` is `pausing` meanwhile. containerd counterpart: `Init.Pause`. */
  async pause(): Promise<void> {
    await this.#perform({ kind: "pause" });
  }

  /** Thaws a paused container. containerd counterpart: `Init.Resume`. */
  async resume(): Promise<void> {
    await this.#perform({ kind: "resume" });
  }

  /** Applies new resource limits (OCI `LinuxResources`). containerd counterpart: `Init.Update`. */
  async update(resources: unknown): Promise<void> {
    await this.#perform({ kind: "update", resources });
  }

  /**
   * Checkpoints a running or paused container. With `options.exit` the process exits by itself
   * afterwards; its exit arrives through {@link setExited}. containerd counterpart: `Init.Checkpoint`.
   */
  async checkpoint(options: CheckpointRequest): Promise<void> {
    await this.#perform({ kind: "checkpoint", options });
  }

  /** Throws the decided FailedPrecondition unless an exec may be added now (created or running). */
  assertCanExec(): void {
    this.#assertAllowed({ kind: "exec" });
  }

  /** Throws the decided FailedPrecondition unless stats and pids may be read now (not stopped/deleted). */
  assertCanStat(): void {
    this.#assertAllowed({ kind: "stat" });
  }

  /** Throws the decided FailedPrecondition unless the console may be resized now (not deleted). */
  assertCanResize(): void {
    this.#assertAllowed({ kind: "resize" });
  }

  /**
   * Records the init's exit (from the reaper): `status` is the containerd exit status, `exitedAt`
   * defaults to now. The first exit wins; later calls, and calls after stop or delete, do nothing.
   * A paused container is thawed best-effort afterwards. Never rejects.
   *
   * Queued behind any in-flight operation, so an exit during `runc start` lands after the start's
   * transition (running → stopped). The returned promise settles once the exit is applied; an exit
   * dispatcher that handles exits one by one should not await it while the in-flight runtime call
   * itself waits for a reaped exit (that would be a cycle through the dispatcher).
   *
   * containerd counterpart: `Init.SetExited`.
   */
  setExited(status: number, exitedAt: Date = new Date()): Promise<void> {
    const exit: ProcessExit = { status, exitedAt };
    return this.#mutex.run(async () => {
      const decision = decideInit(this.#state, { kind: "setExited" }, this.id);
      if (decision.kind !== "record-exit") return; // stopped or deleted: idempotent no-op
      this.#latch.record(exit);
      this.#state = decision.next;
      if (decision.thaw) await bestEffort(() => this.#runtime.resume());
    });
  }

  #assertAllowed(op: InitOp): void {
    const decision = decideInit(this.#state, op, this.id);
    if (decision.kind === "refuse") throw decision.error;
  }

  #perform(op: InitOp): Promise<void> {
    return this.#mutex.run(() => this.#apply(decideInit(this.#state, op, this.id)));
  }

  async #apply(decision: InitDecision): Promise<void> {
    switch (decision.kind) {
      case "refuse":
        throw decision.error;
      case "succeed":
      case "record-exit": // only setExited answers record-exit, and it does not come through here
        return;
      case "run":
        await this.#run(decision);
        return;
      default:
        assertNever(decision, "init decision");
    }
  }

  async #run(decision: InitRun): Promise<void> {
    await executeRun(this.#host, decision);
  }

  /** This process as {@link executeRun} sees it. */
  readonly #host: RunHost<InitState, InitCall> = {
    getState: () => this.#state,
    setState: (state) => {
      this.#state = state;
    },
    latch: this.#latch,
    invoke: async (call) => {
      await this.#invoke(call);
      return undefined;
    },
    describe: (call) => `${call.method} container "${this.id}"`,
    closeIO: () => this.#runtime.closeIO(),
    resume: () => this.#runtime.resume(),
  };

  #invoke(call: InitCall): Promise<void> {
    const runtime = this.#runtime;
    switch (call.method) {
      case "start":
        return runtime.start();
      case "delete":
        return runtime.delete();
      case "kill":
        return runtime.kill(call.signal, call.all);
      case "pause":
        return runtime.pause();
      case "resume":
        return runtime.resume();
      case "update":
        return runtime.update(call.resources);
      case "checkpoint":
        return runtime.checkpoint(call.options);
      default:
        return assertNever(call, "init runtime call");
    }
  }
}
