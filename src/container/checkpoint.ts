/**
 * Checkpoint/restore needs a working CRIU. Rather than let the runtime fail deep inside a dump, husk asks CRIU once
 * (`criu check`) and answers NotImplemented, with CRIU's own reason, where this host cannot checkpoint.
 */
import { notImplemented } from "../errors.js";
import type { CheckpointFlags } from "../oci/index.js";
import type { CheckpointRequest } from "../process/index.js";
import { runCommand } from "../sys/index.js";

let probe: Promise<string | undefined> | undefined;

/** The reason checkpointing cannot work here, or undefined when `criu check` passes. Probed once per process. */
export function checkpointUnsupportedReason(criuPath = "criu"): Promise<string | undefined> {
  probe ??= (async () => {
    try {
      const result = await runCommand(criuPath, ["check"]);
      if (result.status === 0) return undefined;
      const text = `${result.stderr.toString()}${result.stdout.toString()}`.trim().split("\n").at(-1) ?? "";
      return `criu check failed: ${text || `exit status ${result.status}`}`;
    } catch (error) {
      return `criu is not available: ${error instanceof Error ? error.message : String(error)}`;
    }
  })();
  return probe;
}

/** Throws NotImplemented when this host cannot checkpoint. */
export async function ensureCheckpointSupported(): Promise<void> {
  const reason = await checkpointUnsupportedReason();
  if (reason !== undefined) throw notImplemented(`checkpoint is not supported on this host: ${reason}`);
}

/** The runtime flags for a checkpoint request: the process keeps running unless asked to exit. */
export function checkpointFlags(request: CheckpointRequest): CheckpointFlags {
  return {
    imagePath: request.imagePath,
    leaveRunning: request.exit !== true,
    ...(request.workPath === undefined ? {} : { workPath: request.workPath }),
    ...(request.parentPath === undefined ? {} : { parentPath: request.parentPath }),
    ...(request.openTcp === undefined ? {} : { tcpEstablished: request.openTcp }),
    ...(request.externalUnixSockets === undefined ? {} : { extUnixSockets: request.externalUnixSockets }),
    ...(request.terminal === undefined ? {} : { shellJob: request.terminal }),
    ...(request.fileLocks === undefined ? {} : { fileLocks: request.fileLocks }),
    ...(request.emptyNamespaces === undefined ? {} : { emptyNamespaces: request.emptyNamespaces }),
  };
}
