/**
 * The shim daemon's logger: pino JSON lines on stderr, which the daemon points at the bundle's `log` FIFO so that
 * containerd copies them into its own log. Writes are asynchronous and bounded: when nobody reads the FIFO (containerd
 * restarting) log lines wait in memory up to a cap and are then dropped, never blocking the daemon.
 */
import pino from "pino";
import type { Logger } from "../log.js";

/** Log lines kept in memory while the FIFO is full, at most. */
const MAX_BUFFERED_BYTES = 4 << 20;

export function createShimLogger(options: { readonly debug: boolean; readonly namespace: string }): Logger {
  const destination = pino.destination({ fd: 2, sync: false, maxLength: MAX_BUFFERED_BYTES });
  return pino(
    {
      level: options.debug ? "debug" : "info",
      base: { ns: options.namespace, runtime: "io.containerd.husk.v2", pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
