/**
 * The OCI runtime driver: runs runc, crun or runsc subcommands and turns their output and errors into
 * typed results. It knows nothing about state machines; callers decide what to run when.
 *
 * Invariants (process-model §3.6):
 * - `create`, `exec` and `restore` get the container's stdio fds and are waited for by exit only —
 *   the container inherits those fds, so their EOF comes when the container closes them.
 * - Errors come from the lines this invocation appended to its `--log` file, else from its stderr.
 * - Every child is spawned through the injected {@link CommandRunner} (in production `sys.runCommand`,
 *   so the reaper owns it).
 *
 * containerd counterpart: go-runc `Runc` and `pkg/process` (`runtimeError`).
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Code, HuskError, invalidArgument, isHuskError, notFound, notImplemented } from "../errors.js";
import {
  buildGlobalArgs,
  type CheckpointFlags,
  checkpointArgs,
  createArgs,
  deleteArgs,
  execArgs,
  killArgs,
  type RestoreFlags,
  type RuntimeKind,
  restoreArgs,
} from "./args.js";
import { validateContainerId } from "./id.js";
import {
  parsePs,
  parseState,
  parseStateList,
  parseStats,
  type RuntimeState,
  type RuntimeStats,
} from "./output.js";
import { readPidFile, removePidFile } from "./pid-file.js";
import { type RuntimeOperation, runtimeError, runtimeErrorDetails } from "./runtime-error.js";
import { failureMessage, logFileSize, readLogTail } from "./runtime-log.js";
import type { LinuxResources, Process } from "./spec.js";

export type { RuntimeKind } from "./args.js";

/** How to find and call the runtime binary. */
export interface OciRuntimeOptions {
  /** Binary name (searched in PATH) or path; default "runc". */
  readonly binary?: string;
  /** The runtime's state directory (`--root`); one per namespace, like containerd's. */
  readonly root: string;
  /** Default: inferred from the binary's basename ("crun", "runsc"), else "runc". */
  readonly kind?: RuntimeKind;
  readonly systemdCgroup?: boolean;
  readonly debug?: boolean;
  /** Extra global flags after ours, e.g. `["--cgroup-manager=disabled"]` for crun. */
  readonly globalArgs?: readonly string[];
  /**
   * Environment of runtime commands (default: a copy of ours taken when the driver is created).
   * NOTIFY_SOCKET is always removed.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The container's stdio for `create`/`exec`/`restore`: fds of ours that become the runtime's — and
 * so the container process's — fds 0, 1, 2, or "null" for /dev/null. The caller keeps ownership and
 * closes its copies (e.g. the write ends of output pipes) after the call returns.
 */
export interface Stdio3 {
  readonly stdin: number | "null";
  readonly stdout: number | "null";
  readonly stderr: number | "null";
}

/** Options of {@link OciRuntime.create}. */
export interface CreateOptions {
  /** Absolute bundle directory (holding config.json). */
  readonly bundle: string;
  /** Where the runtime writes the init's host pid; a stale file is removed first. */
  readonly pidFile: string;
  /** The runtime's JSON log for this container (containerd: `<bundle>/log.json`). */
  readonly logFile: string;
  /** Unix socket that receives the pty master (terminal containers). */
  readonly consoleSocket?: string;
  readonly noPivot?: boolean;
  readonly noNewKeyring?: boolean;
  readonly stdio: Stdio3;
  /** Number of extra fds (our 3..3+N-1 are not passed automatically: reserved for future use). */
  readonly preserveFds?: number;
}

/** Options of {@link OciRuntime.exec}. */
export interface ExecOptions {
  /** The process to run; written to a private temp file for `--process`. */
  readonly process: Process;
  readonly pidFile: string;
  readonly logFile: string;
  readonly consoleSocket?: string;
  readonly stdio: Stdio3;
  /** Always detached: the exec'd process is re-parented to us (the subreaper), never waited on by the runtime. */
  readonly detach: true;
}

/** Options for calls that only need a log file. */
export interface LogOptions {
  readonly logFile?: string;
}

/** Options of {@link OciRuntime.checkpoint}. */
export interface CheckpointOptions extends CheckpointFlags, LogOptions {}

/** Options of {@link OciRuntime.restore}. */
export interface RestoreOptions extends RestoreFlags {
  readonly logFile: string;
  readonly stdio: Stdio3;
}

/**
 * One OCI runtime binary with one state root. Every method is one runtime command; failures are
 * HuskErrors classified by {@link runtimeError} (NotFound for a missing container or a finished
 * process, AlreadyExists, FailedPrecondition for wrong states, InvalidArgument for bad specs) and a
 * missing binary is NotFound `runtime binary "X" not found`.
 */
export interface OciRuntime {
  readonly kind: RuntimeKind;
  readonly binary: string;
  readonly root: string;
  /**
   * `create`: sets the container up with its init waiting to exec. The init is re-parented to us
   * (the subreaper) when the runtime exits: open a reaper capture before calling, then wait for the
   * returned pid. Returns the init's host pid from the pid file.
   */
  create(id: string, options: CreateOptions): Promise<number>;
  /** `start`: lets the created init exec the container's program. */
  start(id: string, options: LogOptions): Promise<void>;
  /** `state`: the runtime's view; a zombie init already reads "stopped" with pid 0. */
  state(id: string, options?: LogOptions): Promise<RuntimeState>;
  /** `kill [--all] <id> <signal>`; signal as a number (0 checks existence). */
  kill(id: string, signal: number, options?: LogOptions & { readonly all?: boolean }): Promise<void>;
  /**
   * `delete [--force]`. Without force a missing container is NotFound and a running one
   * FailedPrecondition; with force a missing container is success.
   */
  delete(id: string, options?: LogOptions & { readonly force?: boolean }): Promise<void>;
  /** `exec --detach`: starts a process in the container; returns its host pid (see {@link create} on reaping). */
  exec(id: string, options: ExecOptions): Promise<number>;
  /** `ps --format json`: host pids in the container (runsc: sandbox-internal pids). */
  ps(id: string, options?: LogOptions): Promise<number[]>;
  /** `pause`: freezes the container's cgroup. */
  pause(id: string, options?: LogOptions): Promise<void>;
  /** `resume`: thaws it. */
  resume(id: string, options?: LogOptions): Promise<void>;
  /** `update --resources -`: applies new cgroup limits, JSON on stdin. */
  update(id: string, resources: LinuxResources, options?: LogOptions): Promise<void>;
  /** `events --stats` (runc, runsc). crun has no `events`: NotImplemented without running anything. */
  stats(id: string, options?: LogOptions): Promise<RuntimeStats>;
  /** `checkpoint` through CRIU. */
  checkpoint(id: string, options: CheckpointOptions): Promise<void>;
  /** `restore --detach` through CRIU; returns the restored init's host pid. */
  restore(id: string, options: RestoreOptions): Promise<number>;
  /** `list --format json`: every container under the root (empty when the root does not exist). */
  list(): Promise<RuntimeState[]>;
}

/** What a runtime command returned (the shape of `sys.runCommand`'s result). */
export interface CommandResult {
  readonly pid: number;
  readonly status: number;
  readonly signal: number | undefined;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

/** How a runtime command is run (a subset of `sys.runCommand`'s options). */
export interface CommandOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly input?: string;
  readonly stdin?: number | "null";
  readonly stdout?: number | "null";
  readonly stderr?: number | "null";
}

/**
 * Runs a command to completion; resolves on any exit status; rejects with NotFound
 * `executable "X" not found` when the binary is missing. `sys.runCommand` is one.
 */
export type CommandRunner = (
  file: string,
  args: readonly string[],
  options: CommandOptions,
) => Promise<CommandResult>;

/** The runtime kind a binary name suggests: "crun" and "runsc" by basename, otherwise "runc". */
export function inferRuntimeKind(binary: string): RuntimeKind {
  const name = basename(binary);
  if (name === "crun" || name.startsWith("crun-")) return "crun";
  if (name === "runsc" || name.startsWith("runsc-")) return "runsc";
  return "runc";
}

/**
 * Creates a driver that runs commands through `run`. Production code uses `createOciRuntime` (which
 * passes `sys.runCommand`); tests pass a recorder to check argv.
 */
export function createOciRuntimeWith(run: CommandRunner, options: OciRuntimeOptions): OciRuntime {
  return new Driver(run, options);
}

interface InvokeOptions {
  readonly logFile?: string | undefined;
  readonly stdio?: Stdio3;
  readonly input?: string;
}

class Driver implements OciRuntime {
  readonly kind: RuntimeKind;
  readonly binary: string;
  readonly root: string;
  readonly #run: CommandRunner;
  readonly #options: OciRuntimeOptions;
  readonly #name: string;
  readonly #env: Readonly<Record<string, string | undefined>>;

  constructor(run: CommandRunner, options: OciRuntimeOptions) {
    if (options.root === "") throw invalidArgument("runtime root must not be empty");
    this.#run = run;
    this.#options = options;
    this.binary = options.binary ?? "runc";
    this.kind = options.kind ?? inferRuntimeKind(this.binary);
    this.root = options.root;
    this.#name = basename(this.binary);
    const env: Record<string, string | undefined> = { ...(options.env ?? process.env) };
    // runc treats NOTIFY_SOCKET as "notify systemd through this socket": never pass ours on.
    delete env.NOTIFY_SOCKET;
    this.#env = env;
  }

  async create(id: string, options: CreateOptions): Promise<number> {
    validateContainerId(id);
    await removePidFile(options.pidFile);
    await this.#invoke("create", id, createArgs(id, options), {
      logFile: options.logFile,
      stdio: options.stdio,
    });
    return readPidFile(options.pidFile);
  }

  async start(id: string, options: LogOptions): Promise<void> {
    await this.#invoke("start", id, ["start", validateContainerId(id)], options);
  }

  async state(id: string, options: LogOptions = {}): Promise<RuntimeState> {
    const result = await this.#invoke("state", id, ["state", validateContainerId(id)], options);
    return parseState(result.stdout.toString("utf8"));
  }

  async kill(
    id: string,
    signal: number,
    options: LogOptions & { readonly all?: boolean } = {},
  ): Promise<void> {
    if (!Number.isInteger(signal) || signal < 0 || signal > 64) {
      throw invalidArgument(`signal ${signal} is invalid: expected a number 0..64`);
    }
    await this.#invoke("kill", id, killArgs(validateContainerId(id), signal, options.all === true), options);
  }

  async delete(id: string, options: LogOptions & { readonly force?: boolean } = {}): Promise<void> {
    const force = options.force === true;
    try {
      await this.#invoke("delete", id, deleteArgs(validateContainerId(id), force), options);
    } catch (error) {
      // A forced delete is cleanup: "already gone" is what the caller wanted.
      if (force && runtimeErrorDetails(error)?.kind === "container-not-found") return;
      throw error;
    }
  }

  async exec(id: string, options: ExecOptions): Promise<number> {
    validateContainerId(id);
    await removePidFile(options.pidFile);
    const processFile = await writeProcessFile(options.process);
    try {
      const args = execArgs(id, {
        processFile,
        pidFile: options.pidFile,
        ...(options.consoleSocket === undefined ? {} : { consoleSocket: options.consoleSocket }),
      });
      await this.#invoke("exec", id, args, { logFile: options.logFile, stdio: options.stdio });
    } finally {
      await rm(processFile, { force: true });
    }
    return readPidFile(options.pidFile);
  }

  async ps(id: string, options: LogOptions = {}): Promise<number[]> {
    const result = await this.#invoke("ps", id, ["ps", "--format", "json", validateContainerId(id)], options);
    return parsePs(result.stdout.toString("utf8"));
  }

  async pause(id: string, options: LogOptions = {}): Promise<void> {
    await this.#invoke("pause", id, ["pause", validateContainerId(id)], options);
  }

  async resume(id: string, options: LogOptions = {}): Promise<void> {
    await this.#invoke("resume", id, ["resume", validateContainerId(id)], options);
  }

  async update(id: string, resources: LinuxResources, options: LogOptions = {}): Promise<void> {
    const args = ["update", "--resources", "-", validateContainerId(id)];
    await this.#invoke("update", id, args, { ...options, input: JSON.stringify(resources) });
  }

  async stats(id: string, options: LogOptions = {}): Promise<RuntimeStats> {
    validateContainerId(id);
    if (this.kind === "crun") {
      throw notImplemented(
        `${this.#name} has no "events" command: read the cgroup of container ${JSON.stringify(id)} instead`,
      );
    }
    const result = await this.#invoke("events", id, ["events", "--stats", id], options);
    return parseStats(result.stdout.toString("utf8"));
  }

  async checkpoint(id: string, options: CheckpointOptions): Promise<void> {
    await this.#invoke("checkpoint", id, checkpointArgs(validateContainerId(id), options), options);
  }

  async restore(id: string, options: RestoreOptions): Promise<number> {
    validateContainerId(id);
    await removePidFile(options.pidFile);
    await this.#invoke("restore", id, restoreArgs(id, options), {
      logFile: options.logFile,
      stdio: options.stdio,
    });
    return readPidFile(options.pidFile);
  }

  async list(): Promise<RuntimeState[]> {
    // runc prints `null` for a missing root; crun may fail to open it — both mean "no containers".
    if (!existsSync(this.root)) return [];
    const result = await this.#invoke("list", undefined, ["list", "--format", "json"], {});
    return parseStateList(result.stdout.toString("utf8"));
  }

  /** Runs one runtime command; throws the classified error when it exits non-zero or by a signal. */
  async #invoke(
    op: RuntimeOperation,
    id: string | undefined,
    subcommand: readonly string[],
    options: InvokeOptions,
  ): Promise<CommandResult> {
    const logFile = options.logFile;
    // Only lines appended by this invocation count: the log is shared and never truncated.
    const logOffset = logFile === undefined ? 0 : await logFileSize(logFile);
    const args = [
      ...buildGlobalArgs({
        kind: this.kind,
        root: this.root,
        ...(this.#options.debug === undefined ? {} : { debug: this.#options.debug }),
        ...(logFile === undefined ? {} : { logFile }),
        ...(this.#options.systemdCgroup === undefined ? {} : { systemdCgroup: this.#options.systemdCgroup }),
        ...(this.#options.globalArgs === undefined ? {} : { globalArgs: this.#options.globalArgs }),
      }),
      ...subcommand,
    ];
    const commandOptions: CommandOptions = {
      env: this.#env,
      ...(options.input === undefined ? {} : { input: options.input }),
      ...(options.stdio === undefined ? {} : options.stdio),
    };
    let result: CommandResult;
    try {
      result = await this.#run(this.binary, args, commandOptions);
    } catch (error) {
      if (isHuskError(error) && error.code === Code.NotFound) {
        throw notFound(`runtime binary ${JSON.stringify(this.binary)} not found`, error);
      }
      throw HuskError.from(
        error,
        `${this.#name} ${op}${id === undefined ? "" : ` for container ${JSON.stringify(id)}`}`,
      );
    }
    if (result.status === 0 && result.signal === undefined) return result;
    const logText = logFile === undefined ? "" : await readLogTail(logFile, logOffset).catch(() => "");
    throw runtimeError({
      runtime: this.#name,
      op,
      id,
      runtimeMessage: failureMessage({
        logText,
        stderr: result.stderr.toString("utf8"),
        status: result.status,
        signal: result.signal,
      }),
    });
  }
}

/**
 * Writes an exec process spec to a fresh 0600 file in $XDG_RUNTIME_DIR (or the temp dir); the caller
 * removes it after the runtime has read it.
 */
async function writeProcessFile(processSpec: Process): Promise<string> {
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  const dir = runtimeDir !== undefined && runtimeDir !== "" && existsSync(runtimeDir) ? runtimeDir : tmpdir();
  const path = join(dir, `husk-process-${randomUUID()}.json`);
  await writeFile(path, JSON.stringify(processSpec), { mode: 0o600, flag: "wx" });
  return path;
}
