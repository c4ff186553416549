/**
 * Node streams over raw fds, choosing the libuv handle that never parks a thread-pool thread: pipes, FIFOs and
 * sockets become `net.Socket` (epoll), ttys become `tty` streams, and only regular files fall back to `fs` streams.
 * Every function takes ownership of the fd it is given: the stream closes it.
 */
import { createReadStream, createWriteStream, fstatSync } from "node:fs";
import { Socket } from "node:net";
import { Readable, type Writable } from "node:stream";
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
 * Reads a pty master. Once no slave fd is open any more the kernel answers EIO; Node's tty stream reports that as an
 * error (Node 20), but for a terminal it means "all output has been read". This stream ends normally on EIO and fails
 * only on other errors. It owns `fd` (closed when the stream closes).
 */
export function readableFromPtyMaster(fd: number): Readable {
  const tty = new TtyReadStream(fd);
  const output = new Readable({
    read() {
      tty.resume();
    },
    destroy(error, callback) {
      tty.destroy();
      callback(error);
    },
  });
  tty.on("data", (chunk: Buffer) => {
    if (!output.push(chunk)) tty.pause();
  });
  tty.on("end", () => output.push(null));
  tty.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EIO") output.push(null);
    else output.destroy(error);
  });
  return output;
}
