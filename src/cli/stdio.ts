/**
 * A foreground process's stdio, the way containerd's `cio` does it: named FIFOs in the bundle directory that the
 * daemon copies the process's streams through. This side opens every FIFO without blocking the event loop:
 *
 * - stdout/stderr are opened `O_RDONLY|O_NONBLOCK` before Create/Exec (the daemon opens its writers during that
 *   call, which would fail with ENXIO without a reader) and read through a `net.Socket`; EOF arrives once the daemon
 *   has copied everything and closed its writers;
 * - stdin is opened `O_RDWR|O_NONBLOCK` (never blocks, never sees EOF) as our writer. When our own input ends we
 *   close it and send CloseIO, since the daemon keeps a writer of its own open until then.
 *
 * In terminal mode there is no stderr FIFO: the pty merges both streams into stdout.
 *
 * containerd counterpart: `cio.NewCreator(cio.WithStdio)` / `cio.NewFIFOSetInDir` and `copyIO` (cio/io_unix.go).
 */
import { closeSync, constants as fsc, openSync, rmSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import { errnoOf } from "../errors.js";
import { mkfifo } from "../sys/fd.js";

/** The stdio strings of a Create or Exec request. */
export interface StdioRequest {
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly terminal: boolean;
}

/** Options of {@link openProcessStdio}. */
export interface ProcessStdioOptions {
  /** The directory the FIFOs are made in (the bundle). */
  readonly dir: string;
  /** Prepended to the FIFO names: "" for the init (`stdout`), `<execId>-` for an exec. */
  readonly prefix: string;
  /** Forward our stdin (`-i`). */
  readonly stdin: boolean;
  /** A pty: no stderr FIFO. */
  readonly terminal: boolean;
  /** Where the output goes; default process.stdout / process.stderr. */
  readonly output?: NodeJS.WritableStream;
  readonly errorOutput?: NodeJS.WritableStream;
  /** Where the input comes from; default process.stdin. */
  readonly input?: NodeJS.ReadableStream;
}

/** A process's FIFOs, open on our side. Close with {@link ProcessStdio.close}. */
export interface ProcessStdio {
  /** What to put into Create/Exec. */
  readonly request: StdioRequest;
  /**
   * Starts copying the output FIFOs to our stdout/stderr (call once the process started). Until then what arrives
   * stays in the FIFOs: a runtime that fails to create or start the process writes its error there too, and that is
   * reported once, as husk's error, instead.
   */
  startOutput(): void;
  /**
   * Starts copying our input into the stdin FIFO. Call once the process started: the daemon opens its reader by then
   * at the latest, and a FIFO whose last writer closes while no reader is open loses its contents. When the input
   * ends, our writer is closed and then `closeIO` is called once; its failure is ignored (the process may be gone).
   */
  startInput(closeIO: () => Promise<unknown>): void;
  /** Resolves true when every output FIFO reached EOF (after {@link startOutput}), false if `timeoutMs` passed first. */
  drained(timeoutMs: number): Promise<boolean>;
  /** Stops copying, closes every fd of ours and removes the FIFOs. Idempotent. */
  close(): void;
}

/** stdio strings for a process whose output goes to a file (both streams) and whose stdin is /dev/null. */
export function fileStdio(path: string, terminal: boolean): StdioRequest {
  return { stdin: "", stdout: `file://${path}`, stderr: `file://${path}`, terminal };
}

/** stdio strings for a process with no stdio at all (/dev/null for all three). */
export const NULL_STDIO: StdioRequest = { stdin: "", stdout: "", stderr: "", terminal: false };

/** Makes the FIFOs and opens our ends. On failure nothing is left behind. */
export function openProcessStdio(options: ProcessStdioOptions): ProcessStdio {
  const paths: string[] = [];
  const fds: number[] = [];
  try {
    const make = (name: string): string => {
      const path = join(options.dir, `${options.prefix}${name}`);
      mkfifo(path, 0o600);
      paths.push(path);
      return path;
    };
    const open = (path: string, flags: number): number => {
      const fd = openSync(path, flags | fsc.O_NONBLOCK);
      fds.push(fd);
      return fd;
    };
    const stdoutPath = make("stdout");
    const stdoutFd = open(stdoutPath, fsc.O_RDONLY);
    const stderrPath = options.terminal ? "" : make("stderr");
    const stderrFd = options.terminal ? undefined : open(stderrPath, fsc.O_RDONLY);
    const stdinPath = options.stdin ? make("stdin") : "";
    const stdinFd = options.stdin ? open(stdinPath, fsc.O_RDWR) : undefined;
    return new FifoStdio(
      { stdin: stdinPath, stdout: stdoutPath, stderr: stderrPath, terminal: options.terminal },
      paths,
      { stdout: stdoutFd, stderr: stderrFd, stdin: stdinFd },
      options,
    );
  } catch (error) {
    for (const fd of fds) closeQuietly(fd);
    for (const path of paths) rmSync(path, { force: true });
    throw error;
  }
}

class FifoStdio implements ProcessStdio {
  readonly request: StdioRequest;
  readonly #paths: readonly string[];
  readonly #readers: { readonly reader: Socket; readonly target: NodeJS.WritableStream }[] = [];
  readonly #ended: Promise<void>[] = [];
  #outputStarted = false;
  readonly #writer: Socket | undefined;
  readonly #input: NodeJS.ReadableStream;
  #inputStarted = false;
  #closed = false;

  constructor(
    request: StdioRequest,
    paths: readonly string[],
    fds: { stdout: number; stderr: number | undefined; stdin: number | undefined },
    options: ProcessStdioOptions,
  ) {
    this.request = request;
    this.#paths = paths;
    this.#input = options.input ?? process.stdin;
    this.#attach(fds.stdout, options.output ?? process.stdout);
    if (fds.stderr !== undefined) this.#attach(fds.stderr, options.errorOutput ?? process.stderr);
    if (fds.stdin !== undefined) {
      const writer = new Socket({ fd: fds.stdin, readable: false, writable: true });
      // EPIPE once the process closed its stdin: what it did not read is dropped, as with any pipe.
      writer.on("error", () => undefined);
      this.#writer = writer;
    }
  }

  /** Opens one output FIFO's reader; {@link startOutput} connects it to `target`. */
  #attach(fd: number, target: NodeJS.WritableStream): void {
    const reader = new Socket({ fd, readable: true, writable: false });
    this.#readers.push({ reader, target });
    this.#ended.push(
      new Promise<void>((resolve) => {
        reader.once("end", resolve);
        reader.once("close", resolve);
      }),
    );
    reader.on("error", () => undefined);
  }

  startOutput(): void {
    if (this.#outputStarted || this.#closed) return;
    this.#outputStarted = true;
    for (const { reader, target } of this.#readers) {
      // If `target` breaks (EPIPE: our reader went away), keep draining so that the process never blocks on output.
      target.once("error", () => {
        reader.unpipe(target);
        reader.resume();
      });
      reader.pipe(target, { end: false });
    }
  }

  startInput(closeIO: () => Promise<unknown>): void {
    const writer = this.#writer;
    if (writer === undefined || this.#inputStarted) return;
    this.#inputStarted = true;
    // Our writer closes (after everything written reached the pipe), then the daemon is told to close its own.
    writer.once("close", () => {
      if (!this.#closed) void closeIO().catch(() => undefined);
    });
    this.#input.pipe(writer);
  }

  async drained(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => {
        resolve(false);
      }, timeoutMs);
    });
    try {
      return await Promise.race([Promise.all(this.#ended).then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#writer !== undefined) {
      this.#input.unpipe(this.#writer);
      this.#writer.destroy();
    }
    for (const { reader } of this.#readers) reader.destroy();
    for (const path of this.#paths) rmSync(path, { force: true });
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch (error) {
    if (errnoOf(error) !== "EBADF") throw error;
  }
}
