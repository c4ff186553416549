/**
 * The process-wide reaper: this process is a child subreaper and one native thread collects every
 * exit of every child (`waitid(P_ALL)`), including orphans re-parented to us. Exits are dispatched
 * on the JS thread, each exactly once: to the waiters of its pid, else to every open capture, else
 * to the stranger listeners.
 *
 * Pid reuse: every spawn and every capture opening increments a native generation counter; each
 * exit carries the generation current when it was reaped (see native/src/reaper.cc). A waiter for a
 * child of generation g, and a capture opened at generation g, ignore exits tagged below g.
 *
 * containerd counterpart: `sys/reaper` (`Reap`, `Monitor.Start/Wait/Subscribe`) and the runc
 * shim's `exitSubscribers`/`preStart`/`handleStarted` (runtime/v2/runc/task/service.go).
 */
import { native } from "./native.js";

/** One collected exit. */
export interface ExitStatus {
  readonly pid: number;
  /** containerd's encoding: the exit code, or 128 + N when killed by signal N (137 for SIGKILL). */
  readonly status: number;
  /** N when killed by a signal. */
  readonly signal: number | undefined;
  /** When the reaper collected it. */
  readonly exitedAt: Date;
}

/** A buffer of unclaimed exits, open from {@link Reaper.capture} until {@link ExitCapture.close}. */
export interface ExitCapture {
  /** The exit of `pid`: at once if it happened while this capture was open, else when it happens. */
  waitFor(pid: number): Promise<ExitStatus>;
  /** Idempotent. Unclaimed captured exits are handed to stranger listeners. */
  close(): void;
}

/** The single waiter for all children of this process. */
export interface Reaper {
  /**
   * Subscribe to pid's exit. Valid for children from spawn() (spawn already subscribes: use Child.exit)
   * and for pids learned while an ExitCapture is open (use capture.waitFor). Calling it for an
   * already-reaped pid never resolves. Accepts an exit of any generation (a pid that is still our
   * unreaped child cannot have been reused).
   */
  waitFor(pid: number): Promise<ExitStatus>;
  /**
   * Opens a capture: while open, every exit that no waiter claims is buffered in it (and in every
   * other open capture). This closes the early-exit race: open it before `runc create`/`runc exec`,
   * read the pid file, then waitFor(pid).
   */
  capture(): ExitCapture;
  /** Exits nobody waited for and no capture claimed (re-parented orphans, crun helpers). Returns an unsubscribe fn. */
  onStranger(listener: (exit: ExitStatus) => void): () => void;
  /** Number of registered waiters (for tests/metrics). */
  readonly waiting: number;
}

/** Internal hook for spawn(): subscribe to a child's exit at its spawn generation. */
export interface ReaperInternal extends Reaper {
  /** Registers a waiter for pid accepting only exits tagged with generation >= `generation`. */
  waitForGeneration(pid: number, generation: number): Promise<ExitStatus>;
  /** Swallows the next exit of pid at generation >= `generation` (a child whose exec failed). */
  discard(pid: number, generation: number): void;
}

interface Waiter {
  readonly generation: number;
  readonly resolve: (exit: ExitStatus) => void;
}

// One captured exit, shared by every capture that buffered it so that it reaches strangers at most
// once: when the last holder closes without anyone having claimed it.
interface CapturedExit {
  readonly exit: ExitStatus;
  claimed: boolean;
  holders: number;
}

class CaptureImpl implements ExitCapture {
  readonly #reaper: ReaperImpl;
  readonly generation: number;
  readonly #buffer = new Map<number, CapturedExit[]>();
  #open = true;

  constructor(reaper: ReaperImpl, generation: number) {
    this.#reaper = reaper;
    this.generation = generation;
  }

  get open(): boolean {
    return this.#open;
  }

  buffer(record: CapturedExit): void {
    record.holders++;
    const list = this.#buffer.get(record.exit.pid);
    if (list === undefined) this.#buffer.set(record.exit.pid, [record]);
    else list.push(record);
  }

  waitFor(pid: number): Promise<ExitStatus> {
    const list = this.#buffer.get(pid);
    if (list !== undefined) {
      // The oldest unclaimed exit of this pid; exits claimed through another capture are skipped.
      while (list.length > 0) {
        const record = list.shift();
        if (record === undefined) break;
        record.holders--;
        if (!record.claimed) {
          record.claimed = true;
          if (list.length === 0) this.#buffer.delete(pid);
          return Promise.resolve(record.exit);
        }
      }
      this.#buffer.delete(pid);
    }
    return this.#reaper.waitForGeneration(pid, this.generation);
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#reaper.closeCapture(this);
    for (const list of this.#buffer.values()) {
      for (const record of list) {
        record.holders--;
        if (!record.claimed && record.holders === 0) {
          record.claimed = true;
          this.#reaper.toStrangers(record.exit);
        }
      }
    }
    this.#buffer.clear();
  }
}

class ReaperImpl implements ReaperInternal {
  readonly #waiters = new Map<number, Waiter[]>();
  readonly #captures = new Set<CaptureImpl>();
  readonly #strangers = new Set<(exit: ExitStatus) => void>();
  #waiting = 0;

  get waiting(): number {
    return this.#waiting;
  }

  waitFor(pid: number): Promise<ExitStatus> {
    return this.waitForGeneration(pid, 0);
  }

  waitForGeneration(pid: number, generation: number): Promise<ExitStatus> {
    return new Promise<ExitStatus>((resolve) => {
      this.#addWaiter(pid, { generation, resolve });
    });
  }

  discard(pid: number, generation: number): void {
    this.#addWaiter(pid, {
      generation,
      resolve: () => {
        /* the exit of a child that never ran */
      },
    });
  }

  capture(): ExitCapture {
    const capture = new CaptureImpl(this, native().bumpGeneration());
    this.#captures.add(capture);
    return capture;
  }

  closeCapture(capture: CaptureImpl): void {
    this.#captures.delete(capture);
  }

  onStranger(listener: (exit: ExitStatus) => void): () => void {
    // Wrap so that the same function subscribed twice gets two independent subscriptions.
    const entry = (exit: ExitStatus): void => {
      listener(exit);
    };
    this.#strangers.add(entry);
    return () => {
      this.#strangers.delete(entry);
    };
  }

  toStrangers(exit: ExitStatus): void {
    for (const listener of [...this.#strangers]) {
      try {
        listener(exit);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Called by the native reaper thread's threadsafe function, on the JS thread. */
  dispatch(pid: number, status: number, signal: number, atMs: number, generation: number): void {
    const exit: ExitStatus = {
      pid,
      status,
      signal: signal === 0 ? undefined : signal,
      exitedAt: new Date(atMs),
    };
    const waiters = this.#waiters.get(pid);
    if (waiters !== undefined) {
      const claimed = waiters.filter((w) => w.generation <= generation);
      if (claimed.length > 0) {
        const rest = waiters.filter((w) => w.generation > generation);
        if (rest.length === 0) this.#waiters.delete(pid);
        else this.#waiters.set(pid, rest);
        this.#setWaiting(this.#waiting - claimed.length);
        for (const waiter of claimed) waiter.resolve(exit);
        return;
      }
    }
    const record: CapturedExit = { exit, claimed: false, holders: 0 };
    for (const capture of this.#captures) {
      if (capture.generation <= generation) capture.buffer(record);
    }
    if (record.holders === 0) this.toStrangers(exit);
  }

  #addWaiter(pid: number, waiter: Waiter): void {
    const list = this.#waiters.get(pid);
    if (list === undefined) this.#waiters.set(pid, [waiter]);
    else list.push(waiter);
    this.#setWaiting(this.#waiting + 1);
  }

  #setWaiting(count: number): void {
    const before = this.#waiting;
    this.#waiting = count;
    // Keep the event loop alive exactly while someone waits for an exit.
    if (before === 0 && count > 0) native().reaperRef(true);
    else if (before > 0 && count === 0) native().reaperRef(false);
  }
}

let singleton: ReaperImpl | undefined;

/**
 * Process-wide singleton: sets PR_SET_CHILD_SUBREAPER, starts the single reaper thread. The reaper
 * keeps the event loop alive exactly while at least one waiter is registered (ref/unref the
 * threadsafe function), so `await child.exit` keeps a CLI alive, but an idle daemon's lifetime is
 * decided by its servers. Never combine with `node:child_process` in the same process: the reaper
 * would steal libuv's children.
 */
export function getReaper(): Reaper {
  return getReaperInternal();
}

/** {@link getReaper} with the spawn-side hooks; for src/sys only. */
export function getReaperInternal(): ReaperInternal {
  if (singleton !== undefined) return singleton;
  const binding = native();
  binding.setChildSubreaper();
  const reaper = new ReaperImpl();
  binding.startReaper((pid, status, signal, atMs, generation) => {
    reaper.dispatch(pid, status, signal, atMs, generation);
  });
  singleton = reaper;
  return reaper;
}
