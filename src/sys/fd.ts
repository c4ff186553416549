/**
 * File-descriptor helpers Node.js lacks. Every fd returned is O_CLOEXEC and owned by the caller,
 * who closes it (fs.closeSync, or by handing it to a net.Socket/tty stream that closes it).
 *
 * containerd counterpart: go-runc `io_unix.go` (os.Pipe for the runtime's stdio), containerd/console
 * (`Resize`), containerd/fifo (mkfifo), `sys.SetPipeSize`-style fcntl helpers.
 */
import { fstatSync } from "node:fs";
import { HuskError, invalidArgument } from "../errors.js";
import { native } from "./native.js";

function wrap<T>(what: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw HuskError.from(error, what);
  }
}

/** pipe2(O_CLOEXEC): a real pipe (not a socketpair, which child_process would give). */
export function pipe(): [readFd: number, writeFd: number] {
  return wrap("pipe", () => native().pipe());
}

/** socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC): two connected unix stream sockets. */
export function socketPair(): [number, number] {
  return wrap("socketpair", () => native().socketPair());
}

/** fcntl(F_DUPFD_CLOEXEC): a new fd for the same open file; `fd` stays open and untouched. */
export function dup(fd: number): number {
  return wrap(`dup fd ${fd}`, () => native().dup(fd));
}

function checkWinsize(rows: number, cols: number): void {
  for (const [name, value] of [
    ["rows", rows],
    ["cols", cols],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
      throw invalidArgument(`window ${name} ${value} out of range 0..65535`);
    }
  }
}

/**
 * ioctl(TIOCSWINSZ) on a pty (master or slave): the terminal's size in character cells.
 * containerd counterpart: `console.Resize` (runtime/v2/runc `Init.Resize`).
 */
export function setWinsize(fd: number, rows: number, cols: number): void {
  checkWinsize(rows, cols);
  wrap(`resize tty fd ${fd}`, () => {
    native().setWinsize(fd, rows, cols);
  });
}

/** ioctl(TIOCGWINSZ): the terminal's size as {rows, cols}. */
export function getWinsize(fd: number): { rows: number; cols: number } {
  const [rows, cols] = wrap(`get size of tty fd ${fd}`, () => native().getWinsize(fd));
  return { rows, cols };
}

/** fcntl(F_SETPIPE_SZ): grows a pipe's buffer (throughput); returns the size the kernel chose, in bytes. */
export function setPipeSize(fd: number, bytes: number): number {
  return wrap(`set pipe size of fd ${fd}`, () => native().setPipeSize(fd, bytes));
}

/**
 * Sets or clears FD_CLOEXEC on fd. Children from spawn() never inherit unmapped fds either way
 * (close_range); this matters only for exec of this process itself.
 */
export function setCloseOnExec(fd: number, on: boolean): void {
  wrap(`set close-on-exec of fd ${fd}`, () => {
    native().setCloseOnExec(fd, on);
  });
}

/** True when fd is a FIFO (named or anonymous pipe). */
export function isFifo(fd: number): boolean {
  return wrap(`fstat fd ${fd}`, () => fstatSync(fd).isFIFO());
}

/** mkfifo(3): creates a named pipe at `path` with `mode` (default 0o600; the umask applies). */
export function mkfifo(path: string, mode = 0o600): void {
  wrap(`mkfifo "${path}"`, () => {
    native().mkfifo(path, mode);
  });
}
