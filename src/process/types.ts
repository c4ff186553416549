/**
 * Plain value types shared by the process layer and its callers.
 */

/**
 * A process's recorded exit: `status` is the containerd exit status (exit code, or 128 + N when
 * signal N killed it, as the reaper encodes it); `exitedAt` is when husk learned of the exit.
 * Recorded once per process and never changed afterwards.
 */
export interface ProcessExit {
  readonly status: number;
  readonly exitedAt: Date;
}

/**
 * What to checkpoint and how, in runtime-neutral terms (the OCI layer turns it into runtime flags).
 * Paths are absolute host paths. With `exit` true the process stops after a successful checkpoint
 * (its exit then arrives through the reaper like any other); otherwise it keeps running.
 *
 * containerd counterpart: `pkg/process` `CheckpointConfig`.
 */
export interface CheckpointRequest {
  /** Directory the checkpoint image is written to. */
  readonly imagePath: string;
  /** Stop the process once the checkpoint is written (runc: no `--leave-running`). */
  readonly exit?: boolean;
  /** CRIU work directory (logs); the OCI layer picks a default inside the bundle when absent. */
  readonly workPath?: string;
  /** Checkpoint established TCP connections. */
  readonly openTcp?: boolean;
  /** Allow external unix sockets. */
  readonly externalUnixSockets?: boolean;
  /** Allow a shell job / terminal. */
  readonly terminal?: boolean;
  /** Checkpoint file locks. */
  readonly fileLocks?: boolean;
  /** Namespaces (by type name, e.g. `network`) to leave out of the checkpoint. */
  readonly emptyNamespaces?: readonly string[];
  /** Directory of a previous (pre-dump) image this one builds on. */
  readonly parentPath?: string;
}
