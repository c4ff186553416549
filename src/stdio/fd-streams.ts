/**
 * Node streams over raw fds, choosing the libuv handle that never parks a thread-pool thread: pipes, FIFOs and
 * sockets become `net.Socket` (epoll), ttys become `tty` streams, and only regular files fall back to `fs` streams.
 * Every function takes ownership of the fd it is given: the stream closes it.
 */
import { createReadStream, createWriteStream, fstatSync } from "node:fs";
import { Socket } from "node:net";
import type { Readable, Writable } from "node:stream";
import { isatty, ReadStream as TtyReadStream, WriteStream as TtyWriteStream } from "node:tty";

/** A readable stream that owns `fd`. */
export function readableFromFd(fd: number): Readable {
  if (isatty(fd)) return new TtyReadStream(fd);
  const stat = fstatSync(fd);
  if (stat.isFIFO() || stat.isSocket()) return new Socket({ fd, readable: true, writable: false });
  return createReadStream("", { fd, autoClose: true });
}

/** A writable stream that owns `fd`. */
export function writableFromFd(fd: number): Writable {
  if (isatty(fd)) return new TtyWriteStream(fd);
  const stat = fstatSync(fd);
  if (stat.isFIFO() || stat.isSocket()) return new Socket({ fd, readable: false, writable: true });
  return createWriteStream("", { fd, autoClose: true });
}

/**
 * Reads a pty master. The kernel answers EIO once no slave fd is open any more; Node's tty stream reports that as a
 * normal end of stream (verified on Node 20), which is exactly "the process's terminal output is complete".
 */
export function readableFromPtyMaster(fd: number): Readable {
  return new TtyReadStream(fd);
}
