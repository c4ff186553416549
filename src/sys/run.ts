/**
 * Short commands run to completion (runtime `state`/`ps`/`kill`/…), with captured output.
 *
 * containerd counterpart: go-runc `cmdOutput` + `Monitor.Start/Wait` (runc.go, monitor.go), which in
 * the shim go through `sys/reaper`.
 */
import { closeSync } from "node:fs";
import { Socket } from "node:net";
import { Code, HuskError } from "../errors.js";
import { pipe } from "./fd.js";
import { type Child, spawn } from "./spawn.js";

/** How to run a short command. */
export interface RunOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Written to stdin then closed (takes precedence over `stdin`); default stdin /dev/null. */
  readonly input?: string | Uint8Array;
  /**
   * Give the child this fd instead of capturing the stream (e.g. `runc create` gets the container's
   * stdio and is waited for by exit only — never by EOF, because the container inherits those fds).
   * The caller keeps ownership of the fd.
   */
  readonly stdout?: number | "null";
  readonly stderr?: number | "null";
  readonly stdin?: number | "null";
  /** Abort → SIGKILL the child, then reject with the abort reason (once the child is reaped). */
  readonly signal?: AbortSignal;
  /** Bytes per captured stream, default 16 MiB; beyond → kill + reject ResourceExhausted. */
  readonly maxBuffer?: number;
}

/** What a finished command left. */
export interface RunResult {
  readonly pid: number;
  /** Exit code, or 128 + N when killed by signal N. */
  readonly status: number;
  readonly signal: number | undefined;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

const DEFAULT_MAX_BUFFER = 16 * 1024 * 1024;

/** Reads a pipe's read end to EOF. Owns (and closes) the fd. */
class Collector {
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  readonly #socket: Socket;
  readonly done: Promise<void>;

  constructor(fd: number, maxBytes: number, onOverflow: () => void) {
    this.#socket = new Socket({ fd, readable: true, writable: false });
    this.done = new Promise<void>((resolve) => {
      this.#socket.on("close", () => {
        resolve();
      });
    });
    this.#socket.on("data", (chunk: Buffer) => {
      this.#bytes += chunk.length;
      if (this.#bytes > maxBytes) {
        this.#socket.destroy();
        onOverflow();
        return;
      }
      this.#chunks.push(chunk);
    });
    // A read error ends the stream like EOF; the exit status is what callers judge.
    this.#socket.on("error", () => {
      this.#socket.destroy();
    });
  }

  destroy(): void {
    this.#socket.destroy();
  }

  get buffer(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}

/** Writes `input` to a pipe's write end, then closes it. Owns the fd. */
function feed(fd: number, input: string | Uint8Array): Socket {
  const socket = new Socket({ fd, readable: false, writable: true });
  // EPIPE when the child does not read its stdin is normal.
  socket.on("error", () => {
    socket.destroy();
  });
  socket.end(input);
  return socket;
}

function closeQuietly(fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }
}

/**
 * Runs to completion; resolves on any exit status (callers decide), rejects only for spawn
 * failures/abort/maxBuffer. Waits for exit AND EOF of each captured stream. JS thread only.
 */
export async function runCommand(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const signal = options.signal;
  if (signal?.aborted === true) throw signal.reason;
  const maxBuffer = options.maxBuffer ?? DEFAULT_MAX_BUFFER;

  // childSide: pipe ends only the child keeps (ours closed right after spawn); ourSide: the other ends.
  const childSide: number[] = [];
  const ourSide: number[] = [];
  const fds: (number | "null")[] = [
    options.stdin ?? "null",
    options.stdout ?? "null",
    options.stderr ?? "null",
  ];
  let stdinWrite: number | undefined;
  let stdoutRead: number | undefined;
  let stderrRead: number | undefined;
  let child: Child;
  try {
    if (options.input !== undefined) {
      const [r, w] = pipe();
      childSide.push(r);
      ourSide.push(w);
      fds[0] = r;
      stdinWrite = w;
    }
    if (options.stdout === undefined) {
      const [r, w] = pipe();
      childSide.push(w);
      ourSide.push(r);
      fds[1] = w;
      stdoutRead = r;
    }
    if (options.stderr === undefined) {
      const [r, w] = pipe();
      childSide.push(w);
      ourSide.push(r);
      fds[2] = w;
      stderrRead = r;
    }
    child = spawn({
      file,
      args,
      fds,
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
  } catch (error) {
    closeQuietly(ourSide);
    throw error;
  } finally {
    // The child has its copies now (or never will): EOF must depend on the child alone.
    closeQuietly(childSide);
  }

  // Set by abort/overflow (from callbacks, hence read through a function after each await).
  const state: { failure?: { reason: unknown } } = {};
  const failure = (): { reason: unknown } | undefined => state.failure;
  const collectors: Collector[] = [];
  const kill = (reason: unknown): void => {
    state.failure ??= { reason };
    child.kill("SIGKILL");
    for (const c of collectors) c.destroy();
  };
  const overflow = (stream: string) => () => {
    kill(
      new HuskError(Code.ResourceExhausted, `${stream} of "${file}" exceeds maxBuffer ${maxBuffer} bytes`),
    );
  };
  const stdout =
    stdoutRead === undefined ? undefined : new Collector(stdoutRead, maxBuffer, overflow("stdout"));
  const stderr =
    stderrRead === undefined ? undefined : new Collector(stderrRead, maxBuffer, overflow("stderr"));
  if (stdout !== undefined) collectors.push(stdout);
  if (stderr !== undefined) collectors.push(stderr);
  if (stdinWrite !== undefined && options.input !== undefined) feed(stdinWrite, options.input);

  const onAbort = (): void => {
    kill(signal?.reason);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const exit = await child.exit;
    // A killed command may have left grandchildren holding the pipes: do not wait for EOF then.
    const killed = failure();
    if (killed !== undefined) throw killed.reason;
    await Promise.all(collectors.map((c) => c.done));
    const overflowed = failure();
    if (overflowed !== undefined) throw overflowed.reason;
    return {
      pid: exit.pid,
      status: exit.status,
      signal: exit.signal,
      stdout: stdout?.buffer ?? Buffer.alloc(0),
      stderr: stderr?.buffer ?? Buffer.alloc(0),
    };
  } finally {
    signal?.removeEventListener("abort", onAbort);
    for (const c of collectors) c.destroy();
  }
}
