/**
 * A process's IO from creation to teardown. The OCI runtime gets real pipes (never socketpairs: `echo > /dev/stdout`
 * must work in a container), a pty through the console socket, or our fds as they are; husk copies between those and
 * what the caller asked for (Node streams, FIFOs, a logger), with back-pressure and without blocking the event loop.
 *
 * Lifecycle: `openProcessIO()` before the runtime command → hand `runtimeStdio` / `consoleSocketPath` to it →
 * `started()` once it succeeded (closes our copies of the container-side ends, receives the pty) → `closeStdin()`,
 * `resize()` while it runs → `drained` after the process exited → `close()` (idempotent) at delete.
 *
 * containerd counterpart: pkg/process io.go (`createIO`, `copyPipes`), runtime/v2/runc/platform.go (`CopyConsole`).
 */
import { closeSync, fchownSync, constants as fsc, fstatSync, mkdirSync, openSync } from "node:fs";
import { Socket } from "node:net";
import { dirname } from "node:path";
import { PassThrough, type Readable, type Writable } from "node:stream";
import { HuskError, invalidArgument } from "../errors.js";
import { type Logger, silentLogger } from "../log.js";
import { type ConsoleSocket, createConsoleSocket, dup, pipe, setPipeSize, setWinsize } from "../sys/index.js";
import { type BinaryLogger, startBinaryLogger } from "./binary-logger.js";
import { readableFromFd, readableFromPtyMaster, writableFromFd } from "./fd-streams.js";
import type { StdioSpec, StreamSpec } from "./spec.js";

/** fds for the runtime command: our fd numbers, or "null" for /dev/null. */
export interface RuntimeStdio {
  readonly stdin: number | "null";
  readonly stdout: number | "null";
  readonly stderr: number | "null";
}

/** The live IO of one process. */
export interface ProcessIO {
  /** What the runtime's create/exec command gets as fds 0–2 (non-terminal mode). Valid until `started()`/`close()`. */
  readonly runtimeStdio: RuntimeStdio;
  /** `--console-socket` path in terminal mode. */
  readonly consoleSocketPath: string | undefined;
  /** Our end of the container's stdin when it was requested as `{kind: "pipe"}`. End it to give the process EOF. */
  readonly stdin: Writable | undefined;
  /** The container's stdout (the pty's output in terminal mode) when requested as `{kind: "pipe"}`. */
  readonly stdout: Readable | undefined;
  /** The container's stderr when requested as `{kind: "pipe"}` (never in terminal mode). */
  readonly stderr: Readable | undefined;
  /** Resolves when every output copy has reached end of stream (at once when nothing is copied). Never rejects. */
  readonly drained: Promise<void>;
  /** Call once the runtime command succeeded: drops our copies of the container-side fds, receives the pty master. */
  started(): Promise<void>;
  /** Closes stdin as containerd's CloseIO does: our own writer goes, EOF follows once the client's writer is gone too. */
  closeStdin(): void;
  /** Sets the pty window size; a no-op without a terminal. */
  resize(width: number, height: number): void;
  /** Waits for `drained`, at most `timeoutMs`; true if drained. */
  drain(timeoutMs: number): Promise<boolean>;
  /** Releases everything (fds, copies, the logger). Idempotent. */
  close(): Promise<void>;
}

/** Pipe buffer for container output: large enough that a fast writer rarely waits for a wake-up. */
const OUTPUT_PIPE_BYTES = 1 << 20;
/** How long to wait for the runtime to hand over the pty master once create/exec succeeded. */
const CONSOLE_RECEIVE_TIMEOUT_MS = 10_000;
const EOT = Buffer.from([4]);

/**
 * Prepares a process's IO before the runtime command runs. Fails (releasing whatever it opened) when a FIFO or file
 * cannot be opened or the logger does not start.
 */
export async function openProcessIO(spec: StdioSpec, options: { logger?: Logger } = {}): Promise<ProcessIO> {
  const io = new LiveProcessIO(options.logger ?? silentLogger);
  try {
    await io.open(spec);
    return io;
  } catch (error) {
    await io.close();
    throw HuskError.from(error, "open process io");
  }
}

type Cleanup = () => void | Promise<void>;

class LiveProcessIO implements ProcessIO {
  runtimeStdio: RuntimeStdio = { stdin: "null", stdout: "null", stderr: "null" };
  consoleSocketPath: string | undefined;
  stdin: Writable | undefined;
  stdout: Readable | undefined;
  stderr: Readable | undefined;
  readonly drained: Promise<void>;

  readonly #log: Logger;
  // Container-side fds: closed by us once the runtime command has started (it passed them on) or on failure.
  readonly #childFds = new Set<number>();
  readonly #cleanups: Cleanup[] = [];
  readonly #copies: Promise<void>[] = [];
  #resolveDrained!: () => void;
  #isDrained = false;
  #spec: StdioSpec = {};
  #console: ConsoleSocket | undefined;
  /** An fd on the pty master, for resizing: the input stream's own, and only while that stream is open. */
  #masterFd: number | undefined;
  #stdinCloser: (() => void) | undefined;
  #logger: BinaryLogger | undefined;
  #closed = false;

  constructor(log: Logger) {
    this.#log = log;
    this.drained = new Promise((resolve) => {
      this.#resolveDrained = () => {
        this.#isDrained = true;
        resolve();
      };
    });
  }

  async open(spec: StdioSpec): Promise<void> {
    this.#spec = spec;
    if (spec.terminal === true) {
      this.#console = await createConsoleSocket();
      this.consoleSocketPath = this.#console.path;
      // The terminal's streams are wired in started(), when the master arrives; FIFOs are opened now so that a
      // missing one fails the create before the runtime runs.
      this.#prepareTerminalEnds(spec);
      return;
    }
    const stdin = this.#openInput(spec.stdin ?? { kind: "null" });
    let stdout: number | "null";
    let stderr: number | "null";
    if (spec.logger !== undefined) {
      [stdout, stderr] = await this.#openLogger(spec);
    } else {
      const out = spec.stdout ?? { kind: "null" };
      const err = spec.stderr ?? { kind: "null" };
      if (out.kind === "file" && err.kind === "file" && out.path === err.path) {
        // One open file description for both, like containerd's shared writer: appends interleave correctly.
        stdout = this.#child(openAppend(out.path));
        stderr = this.#child(dup(stdout));
      } else {
        stdout = this.#openOutput(out, "stdout");
        stderr = this.#openOutput(err, "stderr");
      }
    }
    this.runtimeStdio = { stdin, stdout, stderr };
    this.#chownChildEnds(spec);
    this.#watchCopies();
  }

  async started(): Promise<void> {
    for (const fd of this.#childFds) closeQuietly(fd);
    this.#childFds.clear();
    if (this.#console === undefined) return;
    const consoleSocket = this.#console;
    this.#console = undefined;
    let master: number;
    try {
      ({ fd: master } = await consoleSocket.receive(CONSOLE_RECEIVE_TIMEOUT_MS));
    } finally {
      await consoleSocket.close();
    }
    this.#wireTerminal(master);
  }

  closeStdin(): void {
    const closer = this.#stdinCloser;
    this.#stdinCloser = undefined;
    closer?.();
  }

  resize(width: number, height: number): void {
    if (this.#masterFd === undefined) return;
    setWinsize(this.#masterFd, height, width);
  }

  async drain(timeoutMs: number): Promise<boolean> {
    if (this.#isDrained) return true; // the common case at exit: no timer, no race
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        resolve(false);
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.drained.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const fd of this.#childFds) closeQuietly(fd);
    this.#childFds.clear();
    const console = this.#console;
    this.#console = undefined;
    await console?.close();
    for (const cleanup of this.#cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        this.#log.debug({ err: error }, "io cleanup failed");
      }
    }
    this.#resolveDrained();
  }

  // --- non-terminal --------------------------------------------------------------------------------------------

  #openInput(spec: StreamSpec): number | "null" {
    switch (spec.kind) {
      case "null":
        return "null";
      case "fd":
        return this.#child(dup(spec.fd));
      case "file":
        return this.#child(openSync(spec.path, fsc.O_RDONLY));
      case "pipe": {
        const [read, write] = pipe();
        this.#child(read);
        const writer = this.#own(new Socket({ fd: write, readable: false, writable: true }));
        writer.on("error", (error) => {
          this.#log.debug({ err: error }, "stdin pipe write failed");
        });
        this.stdin = writer;
        this.#stdinCloser = () => writer.end();
        return read;
      }
      case "fifo": {
        const [read, write] = pipe();
        this.#child(read);
        const { reader, keepAliveWriter } = openFifoForReading(spec.path);
        const toContainer = this.#own(new Socket({ fd: write, readable: false, writable: true }));
        const fromClient = this.#own(new Socket({ fd: reader, readable: true, writable: false }));
        toContainer.on("error", (error) => {
          this.#log.debug({ err: error }, "stdin copy failed");
        });
        fromClient.on("error", (error) => {
          this.#log.debug({ err: error }, "stdin fifo read failed");
        });
        // EOF arrives only when every writer is gone: the client's and our keep-alive writer (closed by CloseIO).
        fromClient.pipe(toContainer);
        let open = true;
        this.#stdinCloser = () => {
          if (open) closeQuietly(keepAliveWriter);
          open = false;
        };
        this.#cleanups.push(() => this.#stdinCloser?.());
        return read;
      }
    }
  }

  #openOutput(spec: StreamSpec, name: "stdout" | "stderr"): number | "null" {
    switch (spec.kind) {
      case "null":
        return "null";
      case "fd":
        return this.#child(dup(spec.fd));
      case "file":
        return this.#child(openAppend(spec.path));
      case "pipe": {
        const [read, write] = outputPipe();
        this.#child(write);
        const stream = this.#own(new Socket({ fd: read, readable: true, writable: false }));
        this.#copies.push(endOf(stream));
        this[name] = stream;
        return write;
      }
      case "fifo": {
        const [read, write] = outputPipe();
        this.#child(write);
        const fromContainer = this.#own(new Socket({ fd: read, readable: true, writable: false }));
        this.#copies.push(this.#copyToFifo(fromContainer, spec.path, name));
        return write;
      }
    }
  }

  async #openLogger(spec: StdioSpec): Promise<[number, number]> {
    const logger = spec.logger;
    if (logger === undefined) throw invalidArgument("no logger given");
    const [outRead, outWrite] = outputPipe();
    const [errRead, errWrite] = outputPipe();
    this.#child(outWrite);
    this.#child(errWrite);
    try {
      this.#logger = await startBinaryLogger(logger, { stdoutFd: outRead, stderrFd: errRead });
    } finally {
      // The logger has its own copies now (or failed to start): ours would keep the pipes open forever.
      closeQuietly(outRead);
      closeQuietly(errRead);
    }
    const started = this.#logger;
    this.#cleanups.push(() => started.stop());
    return [outWrite, errWrite];
  }

  #chownChildEnds(spec: StdioSpec): void {
    if (spec.uid === undefined && spec.gid === undefined) return;
    for (const fd of this.#childFds) {
      // Only our pipes: never change the owner of a caller's fd or file.
      if (fstatSync(fd).isFIFO()) fchownSync(fd, spec.uid ?? -1, spec.gid ?? -1);
    }
  }

  // --- terminal ------------------------------------------------------------------------------------------------

  #terminalOut: Writable | undefined;
  #terminalIn: Readable | undefined;
  #terminalInIsFifo = false;

  #prepareTerminalEnds(spec: StdioSpec): void {
    const out = spec.stdout ?? { kind: "null" };
    if (spec.logger !== undefined) {
      throw invalidArgument("a binary logger with a terminal is not supported");
    }
    switch (out.kind) {
      case "null":
        break;
      case "pipe":
        // The master's read stream itself becomes `stdout` in #wireTerminal.
        break;
      case "fd":
        this.#terminalOut = this.#own(writableFromFd(dup(out.fd)));
        break;
      case "file":
        this.#terminalOut = this.#own(writableFromFd(openAppend(out.path)));
        break;
      case "fifo":
        this.#terminalOut = this.#fifoTarget(out.path, "stdout");
        break;
    }
    const input = spec.stdin ?? { kind: "null" };
    switch (input.kind) {
      case "null":
        break;
      case "pipe": {
        const writer = new PassThrough();
        this.stdin = writer;
        this.#terminalIn = writer;
        this.#stdinCloser = () => writer.end();
        break;
      }
      case "fd":
        this.#terminalIn = this.#own(readableFromFd(dup(input.fd)));
        break;
      case "file":
        this.#terminalIn = this.#own(readableFromFd(openSync(input.path, fsc.O_RDONLY)));
        break;
      case "fifo": {
        const { reader, keepAliveWriter } = openFifoForReading(input.path);
        this.#terminalIn = this.#own(new Socket({ fd: reader, readable: true, writable: false }));
        this.#terminalInIsFifo = true;
        let open = true;
        this.#stdinCloser = () => {
          if (open) closeQuietly(keepAliveWriter);
          open = false;
        };
        this.#cleanups.push(() => this.#stdinCloser?.());
        break;
      }
    }
  }

  #wireTerminal(master: number): void {
    // Two fds on the master, each owned (and closed) by its own stream: `master` for reading, a dup for writing and
    // resizing. A closed stream's fd number may be reused at once, so resize stops the moment the writer closes.
    const inputFd = dup(master);
    const output = this.#own(readableFromPtyMaster(master));
    const input = this.#own(writableFromFd(inputFd));
    this.#masterFd = inputFd;
    input.once("close", () => {
      this.#masterFd = undefined;
    });
    output.on("error", (error) => {
      this.#log.debug({ err: error }, "pty read failed");
    });
    input.on("error", (error) => {
      this.#log.debug({ err: error }, "pty write failed");
    });
    const out = this.#spec.stdout ?? { kind: "null" };
    if (out.kind === "pipe") {
      this.stdout = output;
      this.#copies.push(endOf(output));
    } else if (this.#terminalOut !== undefined) {
      const target = this.#terminalOut;
      target.on("error", (error) => {
        this.#log.debug({ err: error }, "pty output copy failed");
      });
      output.pipe(target);
      this.#copies.push(finishOf(target));
    } else {
      output.resume();
      this.#copies.push(endOf(output));
    }
    const source = this.#terminalIn;
    if (source !== undefined) {
      source.on("error", (error) => {
        this.#log.debug({ err: error }, "pty input read failed");
      });
      source.pipe(input, { end: false });
      source.once("end", () => {
        if (this.#terminalInIsFifo) {
          // containerd hangs up the terminal when the client's stdin ends (so an interactive shell gets SIGHUP).
          output.destroy();
          input.destroy();
        } else {
          // A local caller ending stdin means what ^D means at a terminal.
          input.write(EOT);
        }
      });
    }
    this.#watchCopies();
  }

  // --- helpers -------------------------------------------------------------------------------------------------

  async #copyToFifo(source: Readable, path: string, name: string): Promise<void> {
    const target = this.#fifoTarget(path, name);
    source.on("error", (error) => {
      this.#log.debug({ err: error, stream: name }, "output pipe read failed");
    });
    source.pipe(target);
    await finishOf(target);
  }

  /**
   * A stream into a client's output FIFO. Its keep-alive fd is opened O_RDWR and so also counts as a writer: it is
   * released the moment the copy finishes, or the client would never see end of file.
   */
  #fifoTarget(path: string, name: string): Writable {
    const { writer, keepAliveReader } = openFifoForWriting(path);
    const target = this.#own(new Socket({ fd: writer, readable: false, writable: true }));
    target.on("error", (error) => {
      this.#log.debug({ err: error, stream: name }, "fifo copy failed");
    });
    let held = true;
    const release = (): void => {
      if (held) closeQuietly(keepAliveReader);
      held = false;
    };
    target.once("finish", release);
    target.once("close", release);
    this.#cleanups.push(release);
    return target;
  }

  /** Called once all copies are registered (after open, or after the pty arrived). */
  #watchCopies(): void {
    void Promise.allSettled(this.#copies).then(() => {
      this.#resolveDrained();
    });
  }

  #child(fd: number): number {
    this.#childFds.add(fd);
    return fd;
  }

  #own<T extends Readable | Writable>(stream: T): T {
    this.#cleanups.push(() => {
      stream.destroy();
    });
    return stream;
  }
}

/** A pipe for container output, enlarged so that bulk output moves in big chunks. */
function outputPipe(): [number, number] {
  const ends = pipe();
  try {
    setPipeSize(ends[1], OUTPUT_PIPE_BYTES);
  } catch {
    // Above the unprivileged limit: keep the default size.
  }
  return ends;
}

function openAppend(path: string): number {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  return openSync(path, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, 0o644);
}

/**
 * Opens a client's output FIFO without ever blocking: O_RDWR first (it never blocks and gives the FIFO a reader, so our
 * writes never fail with EPIPE when the client goes away — they wait instead), then a non-blocking writer. A regular
 * file (a client may pass one) is appended to.
 */
function openFifoForWriting(path: string): { writer: number; keepAliveReader: number } {
  const keepAliveReader = openSync(path, fsc.O_RDWR | fsc.O_NONBLOCK);
  try {
    if (!fstatSync(keepAliveReader).isFIFO()) {
      closeQuietly(keepAliveReader);
      const writer = openAppend(path);
      return { writer, keepAliveReader: -1 };
    }
    return { writer: openSync(path, fsc.O_WRONLY | fsc.O_NONBLOCK), keepAliveReader };
  } catch (error) {
    closeQuietly(keepAliveReader);
    throw error;
  }
}

/**
 * Opens a client's stdin FIFO: a non-blocking reader (Linux reports no hang-up before a writer has connected once, so
 * there is no premature EOF) plus our own keep-alive writer, which CloseIO closes.
 */
function openFifoForReading(path: string): { reader: number; keepAliveWriter: number } {
  const reader = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  try {
    if (!fstatSync(reader).isFIFO()) throw invalidArgument(`stdin "${path}" is not a fifo`);
    return { reader, keepAliveWriter: openSync(path, fsc.O_WRONLY | fsc.O_NONBLOCK) };
  } catch (error) {
    closeQuietly(reader);
    throw error;
  }
}

function endOf(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.readableEnded || stream.destroyed) {
      resolve();
      return;
    }
    stream.once("end", resolve);
    stream.once("close", resolve);
  });
}

function finishOf(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableFinished || stream.destroyed) {
      resolve();
      return;
    }
    stream.once("finish", resolve);
    stream.once("close", resolve);
  });
}

function closeQuietly(fd: number): void {
  if (fd < 0) return;
  try {
    closeSync(fd);
  } catch {
    // Every fd here has exactly one owner that closes it once; EBADF would mean a bug, not a leak.
  }
}
