/**
 * Holds a process's exit and answers its waiters: the first exit recorded wins, later ones are
 * ignored, and every waiter gets that same exit. Also used by the container layer for exits it publishes.
 */
import type { ProcessExit } from "./types.js";

/** A write-once exit cell with a promise that resolves when it is written. */
export class ExitLatch {
  #exit: ProcessExit | undefined;
  #resolve: (exit: ProcessExit) => void = () => undefined;
  readonly #promise: Promise<ProcessExit>;

  constructor() {
    this.#promise = new Promise<ProcessExit>((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** The recorded exit, or undefined while none is. */
  get exit(): ProcessExit | undefined {
    return this.#exit;
  }

  /** Resolves with the first recorded exit; never rejects. The same promise for every caller. */
  wait(): Promise<ProcessExit> {
    return this.#promise;
  }

  /** Records `exit` unless one is recorded already; true when this call recorded it. */
  record(exit: ProcessExit): boolean {
    if (this.#exit !== undefined) return false;
    this.#exit = Object.freeze({ status: exit.status, exitedAt: exit.exitedAt });
    this.#resolve(this.#exit);
    return true;
  }
}
