/**
 * A tiny FIFO async mutex. Each process owns one; every state-changing operation runs under it so
 * that state methods never interleave. It is not reentrant: a task must never wait for another
 * task of the same mutex, or both wait forever.
 *
 * containerd counterpart: the `sync.Mutex` in `pkg/process` `Init` / `execProcess`.
 */
export class Mutex {
  // Settles (never rejects) when the last queued task has settled.
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;

  /** True while a task runs or waits. */
  get locked(): boolean {
    return this.#pending > 0;
  }

  /** Number of tasks running or waiting. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Runs `task` once every task queued before it has settled, and settles like it. A task that
   * throws synchronously rejects the returned promise; the mutex is released either way.
   */
  run<T>(task: () => Promise<T> | T): Promise<T> {
    this.#pending += 1;
    const result = this.#tail.then(task);
    const release = (): void => {
      this.#pending -= 1;
    };
    this.#tail = result.then(release, release);
    return result;
  }
}
