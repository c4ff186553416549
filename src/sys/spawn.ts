/**
 * Spawning children that the reaper owns.
 *
 * containerd counterpart: `sys/reaper` `Monitor.Start` (subscribe, then start) and go-runc's
 * `cmd.SysProcAttr` handling (Setpgid/Setsid/Pdeathsig, ExtraFiles).
 */
import { accessSync, constants as fsConstants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { Code, HuskError, invalidArgument, notFound } from "../errors.js";
import { isErrnoError, type NativeSpawnError, native } from "./native.js";
import { signalNumber } from "./process.js";
import { type ExitStatus, getReaperInternal } from "./reaper.js";

/** How to start a child. */
export interface SpawnOptions {
  /** Absolute path, or a bare name searched in env PATH (env ?? process.env). */
  readonly file: string;
  /** argv[1..]. */
  readonly args?: readonly string[];
  /** argv[0]; default: file. */
  readonly argv0?: string;
  /** The child's whole environment; default process.env. Undefined values are left out. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /**
   * fd i of the child is fds[i] of ours (i = 0,1,2 and any extra, e.g. 3,4,5 for binary:// loggers).
   * An entry of "null" opens /dev/null; undefined entries beyond 2 are not set (closed), undefined
   * entries 0..2 are /dev/null. Default ["null","null","null"]. All other fds are closed in the child
   * (close_range). Our own fds are untouched (we never mutate caller fds; the caller still closes them).
   */
  readonly fds?: readonly (number | "null" | undefined)[];
  readonly setsid?: boolean;
  readonly setpgid?: boolean;
  /**
   * Signal the kernel sends the child when we die (PR_SET_PDEATHSIG). Default SIGKILL; null disables.
   * Linux sends it when the *thread* that spawned the child exits, so spawn from the main JS thread
   * (a worker thread's exit would kill its children).
   */
  readonly pdeathsig?: NodeJS.Signals | number | null;
}

/** A running (or already exited) child of ours. */
export interface Child {
  readonly pid: number;
  /** Resolves once with the exit (subscribed before spawn returned, so it can never be missed). */
  readonly exit: Promise<ExitStatus>;
  /** Sends a signal (default SIGTERM); ignores ESRCH. */
  kill(signal?: NodeJS.Signals | number): void;
}

const SOURCE_UNSET = -1;
const SOURCE_DEV_NULL = -2;

function envArray(env: Readonly<Record<string, string | undefined>>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined) out.push(`${key}=${value}`);
  }
  return out;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Resolves `file` like execvp: a name with a slash is used as is; a bare name is searched in PATH,
 * first executable regular file wins. When none is executable but one exists, that one is returned
 * so that exec reports EACCES; when none exists, NotFound.
 */
export function resolveExecutable(file: string, env: Readonly<Record<string, string | undefined>>): string {
  if (file === "") throw notFound('executable "" not found');
  if (file.includes("/")) return file;
  const path = env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  let existing: string | undefined;
  for (const dir of path.split(delimiter)) {
    const candidate = join(dir === "" ? "." : dir, file);
    if (isExecutableFile(candidate)) return candidate;
    if (existing === undefined) {
      try {
        if (statSync(candidate).isFile()) existing = candidate;
      } catch {
        /* not in this directory */
      }
    }
  }
  if (existing !== undefined) return existing;
  throw notFound(`executable "${file}" not found`);
}

function sourcesOf(fds: SpawnOptions["fds"]): number[] {
  const map = fds ?? ["null", "null", "null"];
  const sources: number[] = [];
  const count = Math.max(3, map.length);
  for (let i = 0; i < count; i++) {
    const entry = map[i];
    if (entry === "null" || (entry === undefined && i <= 2)) sources.push(SOURCE_DEV_NULL);
    else if (entry === undefined) sources.push(SOURCE_UNSET);
    else if (Number.isInteger(entry) && entry >= 0) sources.push(entry);
    else throw invalidArgument(`invalid fd ${String(entry)} for child fd ${i}`);
  }
  return sources;
}

function spawnError(error: NativeSpawnError, file: string, cwd: string | undefined): HuskError {
  const errno = error.code;
  switch (error.stage) {
    case "exec":
      if (errno === "ENOENT")
        return new HuskError(Code.NotFound, `executable "${file}" not found`, { cause: error });
      if (errno === "EACCES" || errno === "EPERM") {
        return new HuskError(Code.PermissionDenied, `executable "${file}" permission denied`, {
          cause: error,
        });
      }
      return HuskError.from(error, `exec "${file}"`);
    case "chdir":
      return HuskError.from(error, `working directory "${cwd ?? ""}" of "${file}"`);
    case "fd":
      return new HuskError(Code.InvalidArgument, `spawn "${file}": bad fd in the fd map`, { cause: error });
    default:
      return HuskError.from(error, `spawn "${file}"`);
  }
}

/**
 * Spawns via the native layer (vfork-style clone + execve): all signal dispositions reset to SIG_DFL
 * and the signal mask cleared in the child (Node ignores SIGPIPE; children must not inherit that), fds
 * mapped as above. The exit is subscribed before this returns. Throws a HuskError synchronously when
 * exec fails: ENOENT → NotFound `executable "X" not found`, EACCES → PermissionDenied, with the errno
 * as cause. JS thread only.
 *
 * containerd counterpart: `sys/reaper` `Monitor.Start` (subscribe first, then start the command).
 */
export function spawn(options: SpawnOptions): Child {
  const env = options.env ?? process.env;
  const path = resolveExecutable(options.file, env);
  const argv = [options.argv0 ?? options.file, ...(options.args ?? [])];
  const sources = sourcesOf(options.fds);
  const pdeathsig =
    options.pdeathsig === null ? 0 : options.pdeathsig === undefined ? 9 : signalNumber(options.pdeathsig);
  const reaper = getReaperInternal();
  let spawned: { pid: number; generation: number };
  try {
    spawned = native().spawn(
      path,
      argv,
      envArray(env),
      options.cwd ?? null,
      sources,
      options.setsid === true,
      options.setpgid === true,
      pdeathsig,
    );
  } catch (error) {
    if (isErrnoError(error) && typeof (error as Partial<NativeSpawnError>).stage === "string") {
      const failed = error as NativeSpawnError;
      // The child ran and exited 127 before exec: its exit belongs to nobody.
      reaper.discard(failed.pid, failed.generation);
      throw spawnError(failed, options.file, options.cwd);
    }
    throw HuskError.from(error, `spawn "${options.file}"`);
  }
  const { pid, generation } = spawned;
  // Synchronously after clone(): the exit cannot be dispatched before this subscription exists.
  const exit = reaper.waitForGeneration(pid, generation);
  let exited = false;
  void exit.then(() => {
    exited = true;
  });
  return {
    pid,
    exit,
    kill(signal: NodeJS.Signals | number = "SIGTERM"): void {
      // Once the exit was dispatched the pid may belong to someone else: never signal it again.
      if (exited) return;
      try {
        process.kill(pid, signalNumber(signal));
      } catch (error) {
        if (isErrnoError(error) && error.code === "ESRCH") return;
        throw HuskError.from(error, `kill pid ${pid}`);
      }
    },
  };
}
