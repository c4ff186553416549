/**
 * The logging interface husk's layers accept: a structural subset of pino's Logger, so a pino instance (the shim's
 * JSON lines to the bundle's log FIFO) or the silent default fits. Nothing is logged per I/O chunk.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** A logger that drops everything: the library default, so embedding husk prints nothing unless asked. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
