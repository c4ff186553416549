/**
 * Forwarding the signals a person sends to `husk run`/`husk exec` in the foreground to the container's process, like
 * `ctr run`'s signal proxy. Signals that arrive before the process has started are queued and delivered right after
 * the start, so an early ^C is neither lost nor fatal to the CLI (which would leave the container behind).
 *
 * containerd counterpart: `ctr` `commands.ForwardAllSignals`.
 */
import { constants } from "node:os";

/** The signals forwarded to the container. */
export const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;

/** A signal forwarder; call {@link SignalForwarder.stop} when the process is done. */
export interface SignalForwarder {
  /** Starts delivering with `kill` (signal number); queued signals go first, in order. */
  attach(kill: (signal: number) => Promise<unknown>): void;
  /** Removes the handlers: signals act on the CLI normally again. Idempotent. */
  stop(): void;
}

/** Installs the handlers now; nothing is delivered until {@link SignalForwarder.attach}. */
export function createSignalForwarder(): SignalForwarder {
  const queued: number[] = [];
  let deliver: ((signal: number) => Promise<unknown>) | undefined;
  // Deliveries are chained so that the container sees signals in the order they came.
  let chain: Promise<unknown> = Promise.resolve();
  const send = (signal: number): void => {
    const kill = deliver;
    if (kill === undefined) {
      queued.push(signal);
      return;
    }
    // The process may have exited meanwhile (NotFound): nothing to do then.
    chain = chain.then(() => kill(signal)).catch(() => undefined);
  };
  const handlers = FORWARDED_SIGNALS.map((name) => {
    const handler = (): void => {
      send(constants.signals[name]);
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  let stopped = false;
  return {
    attach(kill) {
      deliver = kill;
      for (const signal of queued.splice(0)) send(signal);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}
