/**
 * An additional process in a running container: applies the decisions of `decideExec` (see
 * `exec-machine.ts` for the table), calls the runtime, holds the exit and serialises operations.
 *
 * containerd counterpart: `pkg/process` `execProcess` (`exec.go`) with its state objects.
 */
import { assertNever } from "./decision.js";
import {
  decideExec,
  type ExecCall,
  type ExecDecision,
  type ExecOp,
  type ExecRun,
  type ExecState,
  type ExecStatus,
  execStatusOf,
} from "./exec-machine.js";
import { executeRun, type RunHost } from "./execute.js";
import { ExitLatch } from "./exit-latch.js";
import type { InitStatus } from "./init-machine.js";
import { Mutex } from "./mutex.js";
import type { ProcessExit } from "./types.js";

/**
 * What an exec needs from the layer below, bound to one exec: the container layer implements it over
 * the OCI runtime driver (`runc exec --detach`), the host pid and the process IO. Every method settles
 * in bounded time and must never wait for this exec's exit or for another operation on it; errors
 * should already be HuskErrors, anything else is wrapped as Unknown.
 */
export interface ExecRuntime {
  /** Start the process in the container; resolves with its host pid (> 0). */
  start(): Promise<number>;
  /** Send `signal` to the process's host pid. */
  kill(signal: number): Promise<void>;
  /** Resize the process's console in character cells; a process without a console ignores it. */
  resize(width: number, height: number): Promise<void>;
  /** Close the process's stdin (also used best-effort, error ignored, when a start fails). */
  closeIO(): Promise<void>;
  /** Drain and close the process IO and remove its pid file. */
  delete(): Promise<void>;
}

/** The one thing an exec reads from its init: the init's current status. */
export interface ExecParent {
  readonly status: InitStatus;
}

/** Construction options of an {@link ExecProcess}. */
export interface ExecProcessOptions {
  /** The exec id, unique within its container. */
  readonly id: string;
  /** The id of the container the exec runs in. */
  readonly containerId: string;
  /** The container's init (read-only view). */
  readonly parent: ExecParent;
  /** The runtime actions for this exec. */
  readonly runtime: ExecRuntime;
}

/**
 * An exec process. Every state-changing operation runs under a per-process FIFO mutex; `state`,
 * `status`, `pid`, `exit` and `wait()` never take it. The parent's status is read when an operation
 * is decided (the exec does not hold the parent's mutex, like containerd).
 *
 * Errors: refusals are the table's typed errors; a runtime error passes through when it is a
 * HuskError and is wrapped (`"<op> exec \"<id>\" in container \"<cid>\": …"`) otherwise.
 */
export class ExecProcess {
  /** The exec id. */
  readonly id: string;
  /** The container id. */
  readonly containerId: string;
  readonly #parent: ExecParent;
  readonly #runtime: ExecRuntime;
  readonly #mutex = new Mutex();
  readonly #latch = new ExitLatch();
  #state: ExecState = "created";
  #pid = 0;

  constructor(options: ExecProcessOptions) {
    this.id = options.id;
    this.containerId = options.containerId;
    this.#parent = options.parent;
    this.#runtime = options.runtime;
  }

  /** The host pid; 0 until the exec started. */
  get pid(): number {
    return this.#pid;
  }

  /** The machine state, including `deleted`. */
  get state(): ExecState {
    return this.#state;
  }

  /**
   * The status to report: the parent's when it is paused or pausing, else the state with `deleted`
   * shown as `stopped`. containerd counterpart: `execProcess.Status`.
   */
  get status(): ExecStatus {
    return execStatusOf(this.#state, this.#parent.status);
  }

  /** The recorded exit, or undefined while the exec has not exited. Never changes once set. */
  get exit(): ProcessExit | undefined {
    return this.#latch.exit;
  }

  /**
   * Resolves exactly once, with the first recorded exit: the reaper's, or status 128 when the start
   * failed or the exec was deleted before it started. Never rejects.
   */
  wait(): Promise<ProcessExit> {
    return this.#latch.wait();
  }

  /**
   * Starts the exec (its container must be created or running) and resolves with its host pid.
   * On a runtime failure the exec is stopped with status 128 and its waiters answered before the
   * error is rethrown. containerd counterpart: `execProcess.Start`.
   */
  async start(): Promise<number> {
    await this.#perform({ kind: "start" });
    return this.#pid;
  }

  /** Deletes a created or stopped exec and resolves with its recorded exit. */
  async delete(): Promise<ProcessExit | undefined> {
    await this.#perform({ kind: "delete" });
    return this.#latch.exit;
  }

  /**
   * Sends `signal` (0..64) to the running exec. A finished exec answers SIGTERM/SIGKILL with success
   * and other signals with NotFound; a created one with FailedPrecondition. containerd counterpart:
   * `execProcess.Kill`.
   */
  async kill(signal: number): Promise<void> {
    await this.#perform({ kind: "kill", signal });
  }

  /** Resizes the exec's console (`width` × `height` character cells). */
  async resize(width: number, height: number): Promise<void> {
    await this.#perform({ kind: "resize", width, height });
  }

  /** Closes the exec's stdin. containerd counterpart: `Service.CloseIO` for an exec. */
  async closeIO(): Promise<void> {
    await this.#perform({ kind: "closeIO" });
  }

  /**
   * Records the exec's exit (from the reaper); `exitedAt` defaults to now. The first exit wins; later
   * calls, and calls after stop or delete, do nothing. Queued behind any in-flight operation, so an
   * exit during start lands after the transition to running. Never rejects.
   * containerd counterpart: `execProcess.SetExited`.
   */
  setExited(status: number, exitedAt: Date = new Date()): Promise<void> {
    const exit: ProcessExit = { status, exitedAt };
    return this.#mutex.run(() => {
      const decision = this.#decide({ kind: "setExited" });
      if (decision.kind !== "record-exit") return; // stopped or deleted: idempotent no-op
      this.#latch.record(exit);
      this.#state = decision.next;
    });
  }

  #decide(op: ExecOp): ExecDecision {
    return decideExec(this.#state, op, this.#parent.status, { id: this.id, containerId: this.containerId });
  }

  #perform(op: ExecOp): Promise<void> {
    return this.#mutex.run(() => this.#apply(this.#decide(op)));
  }

  async #apply(decision: ExecDecision): Promise<void> {
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
        assertNever(decision, "exec decision");
    }
  }

  async #run(decision: ExecRun): Promise<void> {
    const pid = await executeRun(this.#host, decision);
    if (pid !== undefined) this.#pid = pid;
  }

  /** This process as {@link executeRun} sees it. An exec is never thawed by its own machine. */
  readonly #host: RunHost<ExecState, ExecCall> = {
    getState: () => this.#state,
    setState: (state) => {
      this.#state = state;
    },
    latch: this.#latch,
    invoke: (call) => this.#invoke(call),
    describe: (call) => `${call.method} exec "${this.id}" in container "${this.containerId}"`,
    closeIO: () => this.#runtime.closeIO(),
    resume: () => Promise.resolve(),
  };

  // Resolves with the pid for `start`, undefined for every other call.
  async #invoke(call: ExecCall): Promise<number | undefined> {
    const runtime = this.#runtime;
    switch (call.method) {
      case "start":
        return runtime.start();
      case "delete":
        await runtime.delete();
        return undefined;
      case "kill":
        await runtime.kill(call.signal);
        return undefined;
      case "resize":
        await runtime.resize(call.width, call.height);
        return undefined;
      case "closeIO":
        await runtime.closeIO();
        return undefined;
      default:
        return assertNever(call, "exec runtime call");
    }
  }
}
