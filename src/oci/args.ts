/**
 * argv building for OCI runtime commands: global flags before the subcommand, then the subcommand's
 * flags, then the container id (and, for kill, the signal number). Pure functions; the runtime driver
 * runs what they return.
 *
 * containerd counterpart: go-runc `Runc.args` and the `*Opts.args` methods.
 */

/** Which OCI runtime a binary is: decides flag spelling and supported commands. */
export type RuntimeKind = "runc" | "crun" | "runsc";

/** Global flags of one invocation. */
export interface GlobalFlags {
  readonly kind: RuntimeKind;
  readonly root: string;
  readonly debug?: boolean;
  /** The runtime's JSON log file for this invocation; no `--log` without it. */
  readonly logFile?: string;
  readonly systemdCgroup?: boolean;
  readonly globalArgs?: readonly string[];
}

/**
 * Global flags in containerd's order: `--root`, `--debug`, `--log`, `--log-format json`,
 * `--systemd-cgroup`, then the caller's extra flags. runsc gets the `--flag=value` spelling its Go flag
 * parser documents; runc and crun get `--flag value`. `--log-format json` is only given with `--log`
 * (without a log file the runtime's stderr stays human text).
 */
export function buildGlobalArgs(flags: GlobalFlags): string[] {
  const eq = flags.kind === "runsc";
  const pair = (name: string, value: string): string[] => (eq ? [`${name}=${value}`] : [name, value]);
  const args = pair("--root", flags.root);
  if (flags.debug === true) args.push("--debug");
  if (flags.logFile !== undefined)
    args.push(...pair("--log", flags.logFile), ...pair("--log-format", "json"));
  if (flags.systemdCgroup === true) args.push("--systemd-cgroup");
  args.push(...(flags.globalArgs ?? []));
  return args;
}

/** Flags of `create`. */
export interface CreateFlags {
  readonly bundle: string;
  readonly pidFile: string;
  readonly consoleSocket?: string;
  readonly noPivot?: boolean;
  readonly noNewKeyring?: boolean;
  /** Extra fds (3..3+N-1) passed into the container. */
  readonly preserveFds?: number;
}

/** `create --bundle B --pid-file P [--console-socket S] [--no-pivot] [--no-new-keyring] [--preserve-fds N] <id>`. */
export function createArgs(id: string, flags: CreateFlags): string[] {
  const args = ["create", "--bundle", flags.bundle, "--pid-file", flags.pidFile];
  if (flags.consoleSocket !== undefined) args.push("--console-socket", flags.consoleSocket);
  if (flags.noPivot === true) args.push("--no-pivot");
  if (flags.noNewKeyring === true) args.push("--no-new-keyring");
  if (flags.preserveFds !== undefined && flags.preserveFds > 0)
    args.push("--preserve-fds", String(flags.preserveFds));
  args.push(id);
  return args;
}

/** Flags of `exec`. */
export interface ExecFlags {
  /** Path of the process JSON file. */
  readonly processFile: string;
  readonly pidFile: string;
  readonly consoleSocket?: string;
  readonly preserveFds?: number;
}

/** `exec --process F --detach --pid-file P [--console-socket S] [--preserve-fds N] <id>`. */
export function execArgs(id: string, flags: ExecFlags): string[] {
  const args = ["exec", "--process", flags.processFile, "--detach", "--pid-file", flags.pidFile];
  if (flags.consoleSocket !== undefined) args.push("--console-socket", flags.consoleSocket);
  if (flags.preserveFds !== undefined && flags.preserveFds > 0)
    args.push("--preserve-fds", String(flags.preserveFds));
  args.push(id);
  return args;
}

/** `kill [--all] <id> <signal number>`. */
export function killArgs(id: string, signal: number, all: boolean): string[] {
  return ["kill", ...(all ? ["--all"] : []), id, String(signal)];
}

/** `delete [--force] <id>`. */
export function deleteArgs(id: string, force: boolean): string[] {
  return ["delete", ...(force ? ["--force"] : []), id];
}

/** CRIU options shared by checkpoint and restore. */
export interface CriuFlags {
  /** Directory of the checkpoint image. */
  readonly imagePath: string;
  /** CRIU work directory (logs); the runtime's default when absent. */
  readonly workPath?: string;
  /** Image of a previous (pre-dump) checkpoint. */
  readonly parentPath?: string;
  readonly tcpEstablished?: boolean;
  readonly extUnixSockets?: boolean;
  readonly shellJob?: boolean;
  readonly fileLocks?: boolean;
}

function criuArgs(flags: CriuFlags): string[] {
  const args = ["--image-path", flags.imagePath];
  if (flags.workPath !== undefined) args.push("--work-path", flags.workPath);
  if (flags.parentPath !== undefined) args.push("--parent-path", flags.parentPath);
  if (flags.tcpEstablished === true) args.push("--tcp-established");
  if (flags.extUnixSockets === true) args.push("--ext-unix-sk");
  if (flags.shellJob === true) args.push("--shell-job");
  if (flags.fileLocks === true) args.push("--file-locks");
  return args;
}

/** Flags of `checkpoint`. */
export interface CheckpointFlags extends CriuFlags {
  /** Keep the container running after the dump (containerd's default unless asked to exit). */
  readonly leaveRunning?: boolean;
  /** Namespaces (e.g. "network") to leave out of the image: `--empty-ns` per entry. */
  readonly emptyNamespaces?: readonly string[];
}

/**
 * `checkpoint --image-path I [--work-path W] [--parent-path P] [--tcp-established] [--ext-unix-sk]
 * [--shell-job] [--file-locks] [--empty-ns NS]… [--leave-running] <id>`.
 */
export function checkpointArgs(id: string, flags: CheckpointFlags): string[] {
  const args = ["checkpoint", ...criuArgs(flags)];
  for (const ns of flags.emptyNamespaces ?? []) args.push("--empty-ns", ns);
  if (flags.leaveRunning === true) args.push("--leave-running");
  args.push(id);
  return args;
}

/** Flags of `restore`. */
export interface RestoreFlags extends CriuFlags {
  readonly bundle: string;
  readonly pidFile: string;
  readonly consoleSocket?: string;
  readonly noPivot?: boolean;
}

/**
 * `restore --image-path I [--work-path W] [--parent-path P] [criu flags] --detach --pid-file F
 * [--console-socket S] [--no-pivot] --no-subreaper --bundle B <id>` — detached, and without the
 * runtime becoming a subreaper, so the restored init is re-parented to us like a created one.
 */
export function restoreArgs(id: string, flags: RestoreFlags): string[] {
  const args = ["restore", ...criuArgs(flags), "--detach", "--pid-file", flags.pidFile];
  if (flags.consoleSocket !== undefined) args.push("--console-socket", flags.consoleSocket);
  if (flags.noPivot === true) args.push("--no-pivot");
  args.push("--no-subreaper", "--bundle", flags.bundle, id);
  return args;
}
