/**
 * Fake runtimes for the process tests: they record every call as a short string (`"kill 9 false"`),
 * can be told to fail a method, can hold a call until the test releases it, and can consult a
 * policy per call (used by the property tests to inject failures and delays).
 */
import type { CheckpointRequest, ExecRuntime, InitRuntime } from "../../../src/process/index.js";

/** A promise with its settle functions exposed. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** Creates a {@link Deferred}. */
export function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A held runtime call: `entered` resolves when the call arrives; the test then releases or fails it. */
export interface Gate {
  readonly entered: Promise<void>;
  release(): void;
  fail(error: unknown): void;
}

/** What the policy says about one call: throw `error` (after `ticks` event-loop turns) or succeed. */
export interface CallOutcome {
  readonly error?: unknown;
  readonly ticks?: number;
}

interface Hold {
  readonly entered: Deferred<undefined>;
  readonly outcome: Deferred<undefined>;
}

// The fakes rethrow whatever a test injected (errors of any kind, to test wrapping).
function asThrown(value: unknown): Error {
  return value as Error;
}

/** Waits one turn of the event loop (lets every pending promise job and I/O callback run). */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The shared recording/failing machinery of both fakes. */
class FakeCore {
  /** Every call so far, in order, as `"method arg1 arg2"`. */
  readonly calls: string[] = [];
  /** Calls in progress now, and the most ever in progress at once. */
  active = 0;
  maxActive = 0;
  /** Called synchronously when a call arrives, before anything else (invariant checks). */
  onCall: ((method: string, args: readonly unknown[]) => void) | undefined;
  /** Consulted for each call unless a failure or a hold is set for its method. */
  policy: ((method: string) => CallOutcome) | undefined;
  readonly #failures = new Map<string, unknown>();
  readonly #holds = new Map<string, Hold[]>();

  /** Every later call of `method` rejects with `error`. */
  failWith(method: string, error: unknown): void {
    this.#failures.set(method, error);
  }

  /** Forgets all failures set with {@link failWith}. */
  clearFailures(): void {
    this.#failures.clear();
  }

  /** The next call of `method` waits until the returned gate is released or failed. */
  hold(method: string): Gate {
    const hold: Hold = { entered: deferred<undefined>(), outcome: deferred<undefined>() };
    const queue = this.#holds.get(method) ?? [];
    queue.push(hold);
    this.#holds.set(method, queue);
    return {
      entered: hold.entered.promise,
      release: () => {
        hold.outcome.resolve(undefined);
      },
      fail: (error: unknown) => {
        hold.outcome.reject(error);
      },
    };
  }

  /** Records the call and settles it by failure, hold or policy (in that order). */
  async call(method: string, args: readonly unknown[]): Promise<void> {
    this.calls.push([method, ...args.map((arg) => String(arg))].join(" "));
    this.onCall?.(method, args);
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      await this.#settle(method);
    } finally {
      this.active -= 1;
    }
  }

  async #settle(method: string): Promise<void> {
    if (this.#failures.has(method)) throw asThrown(this.#failures.get(method));
    const hold = this.#holds.get(method)?.shift();
    if (hold !== undefined) {
      hold.entered.resolve(undefined);
      await hold.outcome.promise;
      return;
    }
    const outcome = this.policy?.(method) ?? {};
    for (let i = 0; i < (outcome.ticks ?? 0); i += 1) await tick();
    if (outcome.error !== undefined) throw asThrown(outcome.error);
  }
}

/** A fake {@link InitRuntime}. */
export class FakeInitRuntime extends FakeCore implements InitRuntime {
  start(): Promise<void> {
    return this.call("start", []);
  }
  delete(): Promise<void> {
    return this.call("delete", []);
  }
  kill(signal: number, all: boolean): Promise<void> {
    return this.call("kill", [signal, all]);
  }
  pause(): Promise<void> {
    return this.call("pause", []);
  }
  resume(): Promise<void> {
    return this.call("resume", []);
  }
  /** The resources of the last update call. */
  lastResources: unknown;

  update(resources: unknown): Promise<void> {
    this.lastResources = resources;
    return this.call("update", []);
  }
  checkpoint(options: CheckpointRequest): Promise<void> {
    return this.call("checkpoint", [options.imagePath]);
  }
  closeIO(): Promise<void> {
    return this.call("closeIO", []);
  }
}

/** A fake {@link ExecRuntime}; `start` resolves with {@link FakeExecRuntime.pidToReturn}. */
export class FakeExecRuntime extends FakeCore implements ExecRuntime {
  pidToReturn = 4242;

  async start(): Promise<number> {
    await this.call("start", []);
    return this.pidToReturn;
  }
  kill(signal: number): Promise<void> {
    return this.call("kill", [signal]);
  }
  resize(width: number, height: number): Promise<void> {
    return this.call("resize", [width, height]);
  }
  closeIO(): Promise<void> {
    return this.call("closeIO", []);
  }
  delete(): Promise<void> {
    return this.call("delete", []);
  }
}

/** Settles `promise` into a value or the error it rejected with, for assertions. */
export async function outcomeOf<T>(
  promise: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}
