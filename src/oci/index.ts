/**
 * Driving OCI runtimes (runc, crun, runsc) and building the bundles they run.
 */
import { runCommand } from "../sys/index.js";
import { createOciRuntimeWith, type OciRuntime, type OciRuntimeOptions } from "./runtime.js";

export * from "./args.js";
export * from "./id.js";
export * from "./output.js";
export * from "./pid-file.js";
export * from "./runtime.js";
export * from "./runtime-error.js";
export * from "./runtime-log.js";
export * from "./spec.js";

/**
 * Creates a driver for one runtime binary and state root. Runtime commands are spawned through
 * `sys.runCommand`, so the process-wide reaper owns them (never `node:child_process`).
 * containerd counterpart: go-runc `Runc{Command, Root, Log, LogFormat, SystemdCgroup}`.
 */
export function createOciRuntime(options: OciRuntimeOptions): OciRuntime {
  return createOciRuntimeWith(runCommand, options);
}
