/**
 * An exec process: an extra process run in a container's namespaces by `runtime exec --detach`. Its state machine
 * (src/process) decides; this class runs the runtime, holds its IO, and publishes `exec-started` and its `exit`
 * (after its output drained, exactly once, never before `exec-started`).
 *
 * containerd counterpart: pkg/process exec.go, and the exec paths of runtime/v2/runc/task/service.go.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { failedPrecondition, HuskError, notFound } from "../errors.js";
import type { Logger } from "../log.js";
import type { Process as OciProcess, OciRuntime } from "../oci/index.js";
import {
  ExecProcess,
  type ExecStatus,
  ExitLatch,
  type InitProcess,
  type ProcessExit,
} from "../process/index.js";
import { openProcessIO, type ProcessIO, type StdioSpec } from "../stdio/index.js";
import { getReaper, signalNumber } from "../sys/index.js";
import type { Container } from "./container.js";
import { execProcessSpec } from "./container.js";
import type { EventStream } from "./events.js";

/** What to run. `process` overrides the container's own process settings (args are required). */
export interface ExecOptions {
  readonly id: string;
  readonly process: Partial<OciProcess> & { readonly args: readonly string[] };
  /** Default: stdin /dev/null, stdout and stderr as Node streams. */
  readonly stdio?: StdioSpec;
}

export interface ExecState {
  readonly id: string;
  readonly containerId: string;
  readonly pid: number;
  readonly status: ExecStatus;
  readonly exitStatus: number | undefined;
  readonly exitedAt: Date | undefined;
  readonly terminal: boolean;
}

interface ExecParts {
  readonly options: ExecOptions;
  readonly container: Container;
  readonly init: InitProcess;
  readonly runtime: OciRuntime;
  readonly workDir: string;
  readonly logFile: string;
  readonly baseProcess: OciProcess | undefined;
  readonly events: EventStream;
  readonly log: Logger;
  readonly drainTimeoutMs: number;
  /** Lets the container's init exit wait for exec starts in flight. */
  readonly trackStart: (start: Promise<unknown>) => void;
  readonly onDeleted: (exec: Exec) => void;
}

export const DEFAULT_STDIO: StdioSpec = { stdout: { kind: "pipe" }, stderr: { kind: "pipe" } };

export class Exec {
  readonly id: string;
  readonly containerId: string;
  #io: ProcessIO | undefined;
  readonly #parts: ExecParts;
  readonly #process: ExecProcess;
  readonly #spec: OciProcess;
  readonly #stdio: StdioSpec;
  readonly #pidFile: string;
  readonly #waiters = new ExitLatch();
  #pid = 0;
  #started = false;
  #exitPublication: Promise<void> | undefined;
  #startGate: Promise<void> = Promise.resolve();

  private constructor(parts: ExecParts, spec: OciProcess, stdio: StdioSpec) {
    this.#parts = parts;
    this.id = parts.options.id;
    this.containerId = parts.container.id;
    this.#spec = spec;
    this.#stdio = stdio;
    this.#pidFile = join(parts.workDir, `${this.id}.pid`);
    this.#process = new ExecProcess({
      id: this.id,
      containerId: this.containerId,
      parent: parts.init,
      runtime: {
        start: () => this.#runtimeStart(),
        kill: (signal) => this.#signal(signal),
        resize: (width, height) => {
          this.#io?.resize(width, height);
          return Promise.resolve();
        },
        closeIO: () => {
          this.#io?.closeStdin();
          return Promise.resolve();
        },
        delete: () => this.#release(),
      },
    });
  }

  /**
   * Builds the process spec (no runtime call, no IO yet). The IO is opened by start(), as containerd's shim does:
   * a client such as `ctr` only arms its CloseIO once Exec has returned, and sees its stdin's EOF too early if the
   * FIFO already has a reader.
   */
  static create(parts: ExecParts): Exec {
    const stdio = parts.options.stdio ?? DEFAULT_STDIO;
    const spec = execProcessSpec(parts.baseProcess, {
      ...parts.options.process,
      args: [...parts.options.process.args],
      terminal: stdio.terminal === true,
    });
    return new Exec(parts, spec, stdio);
  }

  /** The exec's stdio (its streams for `{kind: "pipe"}` specs); opened by start(). */
  get io(): ProcessIO {
    if (this.#io === undefined) {
      throw failedPrecondition(`exec "${this.id}" in container "${this.containerId}" has not been started`);
    }
    return this.#io;
  }

  /** 0 until started. */
  get pid(): number {
    return this.#pid;
  }

  get status(): ExecStatus {
    return this.#process.status;
  }

  /** True once `exec-started` was published (its exit will be published too). */
  get started(): boolean {
    return this.#started;
  }

  /** Resolves once the exit is published (or recorded for a failed start). */
  get exitPublished(): Promise<ProcessExit> {
    return this.#waiters.wait();
  }

  state(): ExecState {
    const exit = this.#process.exit;
    return {
      id: this.id,
      containerId: this.containerId,
      pid: this.#pid,
      status: this.#process.status,
      exitStatus: exit?.status,
      exitedAt: exit?.exitedAt,
      terminal: this.#stdio.terminal === true,
    };
  }

  /** Runs the process (`runtime exec --detach`), publishes `exec-started`, returns its pid. */
  start(): Promise<number> {
    let openGate!: () => void;
    this.#startGate = new Promise((resolve) => {
      openGate = resolve;
    });
    const starting = (async () => {
      try {
        const pid = await this.#process.start();
        this.#started = true;
        this.#parts.events.publish({
          type: "exec-started",
          containerId: this.containerId,
          execId: this.id,
          pid,
        });
        return pid;
      } catch (error) {
        const exit = this.#process.exit;
        if (exit !== undefined) this.#waiters.record(exit);
        throw error;
      } finally {
        openGate();
      }
    })();
    this.#parts.trackStart(starting);
    return starting;
  }

  async kill(signal: string | number): Promise<void> {
    await this.#process.kill(signalNumber(signal));
  }

  /** Resolves once with the exit, after the exit event (so after the output drained). Never rejects. */
  wait(): Promise<ProcessExit> {
    return this.#waiters.wait();
  }

  async resize(width: number, height: number): Promise<void> {
    await this.#process.resize(width, height);
  }

  async closeIO(): Promise<void> {
    await this.#process.closeIO();
  }

  /** Removes the exec (FailedPrecondition while it runs); answers with its exit. */
  async delete(): Promise<ProcessExit | undefined> {
    const exit = await this.#process.delete();
    await this.#exitPublication;
    const recorded = exit ?? this.#process.exit;
    if (recorded !== undefined) this.#waiters.record(recorded);
    this.#parts.onDeleted(this);
    return recorded;
  }

  /** Releases IO and pid file; used by delete and when the whole container goes. Idempotent. */
  async release(): Promise<void> {
    await this.#release();
  }

  async #release(): Promise<void> {
    const io = this.#io;
    if (io !== undefined) {
      await io.drain(this.#parts.drainTimeoutMs);
      await io.close();
    }
    await rm(this.#pidFile, { force: true });
  }

  async #runtimeStart(): Promise<number> {
    const io = await openProcessIO(this.#stdio, { logger: this.#parts.log });
    this.#io = io;
    const capture = getReaper().capture();
    let pid = 0;
    try {
      pid = await this.#parts.runtime.exec(this.containerId, {
        process: this.#spec,
        pidFile: this.#pidFile,
        logFile: this.#parts.logFile,
        ...(io.consoleSocketPath === undefined ? {} : { consoleSocket: io.consoleSocketPath }),
        stdio: io.runtimeStdio,
        detach: true,
      });
      this.#pid = pid;
      // The capture holds the exit if the process already died: it can never be missed.
      void capture.waitFor(pid).then((exit) => {
        this.#handleExit(exit.status, exit.exitedAt);
      });
      await io.started();
      return pid;
    } catch (error) {
      if (pid !== 0) this.#killQuietly(pid);
      await io.close();
      throw error;
    } finally {
      capture.close();
    }
  }

  #handleExit(status: number, exitedAt: Date): void {
    this.#exitPublication = (async () => {
      await this.#process.setExited(status, exitedAt);
      const exit = this.#process.exit;
      if (exit === undefined || exit.status !== status || exit.exitedAt.getTime() !== exitedAt.getTime())
        return;
      await this.#startGate;
      await this.#io?.drain(this.#parts.drainTimeoutMs);
      this.#parts.events.publish({
        type: "exit",
        containerId: this.containerId,
        id: this.id,
        execId: this.id,
        pid: this.#pid,
        status: exit.status,
        exitedAt: exit.exitedAt,
      });
      this.#waiters.record(exit);
    })().catch((error: unknown) => {
      this.#parts.log.error({ err: error }, "exec exit handling failed");
    });
  }

  #signal(signal: number): Promise<void> {
    try {
      process.kill(this.#pid, signal);
      return Promise.resolve();
    } catch (error) {
      const failure =
        (error as NodeJS.ErrnoException).code === "ESRCH"
          ? notFound(`exec "${this.id}" in container "${this.containerId}": process already finished`)
          : HuskError.from(error, `kill exec "${this.id}"`);
      return Promise.reject(failure);
    }
  }

  #killQuietly(pid: number): void {
    try {
      process.kill(pid, 9);
    } catch {
      // already gone
    }
  }
}
