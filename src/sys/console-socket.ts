/**
 * The receiving end of runc/crun `--console-socket`: a listening unix socket on which the runtime
 * sends the pty master of a terminal process as one SCM_RIGHTS fd.
 *
 * containerd counterpart: go-runc `NewTempConsoleSocket` / `Socket.ReceiveMaster` (console.go,
 * socket.go), used by the runc shim's `Init.Create`/`Exec.start` in terminal mode.
 */
import { Buffer } from "node:buffer";
import { closeSync, writeSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, deadlineExceeded, failedPrecondition, HuskError, invalidArgument } from "../errors.js";
import { isErrnoError, native } from "./native.js";

/** A listening console socket. Not safe to share between concurrent receivers. */
export interface ConsoleSocket {
  /** The socket path to pass as `--console-socket` (at most 107 bytes). */
  readonly path: string;
  /**
   * Accepts one connection and receives exactly one fd via SCM_RIGHTS (MSG_CMSG_CLOEXEC); rejects
   * after timeoutMs with DeadlineExceeded, or InvalidArgument for a malformed message. Runs off the
   * JS thread (a thread-pool worker with poll). The caller owns the received fd (the pty master) and
   * closes it; `name` is the message payload (`/dev/ptmx` from runc, a space from crun).
   */
  receive(timeoutMs: number): Promise<{ fd: number; name: string }>;
  /** Idempotent: cancels a pending receive (Canceled), closes the socket, removes its temp dir. */
  close(): Promise<void>;
}

/** Longest path a sockaddr_un holds, without the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

class ConsoleSocketImpl implements ConsoleSocket {
  readonly path: string;
  readonly #dir: string;
  readonly #listenFd: number;
  readonly #cancelFd: number;
  #pending: Promise<unknown> | undefined;
  #closing: Promise<void> | undefined;

  constructor(dir: string, path: string, listenFd: number, cancelFd: number) {
    this.#dir = dir;
    this.path = path;
    this.#listenFd = listenFd;
    this.#cancelFd = cancelFd;
  }

  receive(timeoutMs: number): Promise<{ fd: number; name: string }> {
    if (this.#closing !== undefined) {
      return Promise.reject(failedPrecondition(`console socket "${this.path}" is closed`));
    }
    if (this.#pending !== undefined) {
      return Promise.reject(failedPrecondition(`console socket "${this.path}" is already receiving`));
    }
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 0x7fffffff) {
      return Promise.reject(invalidArgument(`console receive timeout ${timeoutMs} ms out of range`));
    }
    const received = native()
      .receiveFd(this.#listenFd, this.#cancelFd, timeoutMs)
      .catch((error: unknown) => {
        throw this.#mapError(error, timeoutMs);
      });
    const pending = received.then(
      () => undefined,
      () => undefined,
    );
    this.#pending = pending;
    void pending.then(() => {
      if (this.#pending === pending) this.#pending = undefined;
    });
    return received;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#pending !== undefined) {
      // Wake the worker's poll; it rejects with ECANCELED and stops using our fds.
      const one = Buffer.alloc(8);
      one.writeBigUInt64LE(1n);
      writeSync(this.#cancelFd, one);
      await this.#pending;
    }
    closeSync(this.#listenFd);
    closeSync(this.#cancelFd);
    await rm(this.#dir, { recursive: true, force: true });
  }

  #mapError(error: unknown, timeoutMs: number): HuskError {
    if (isErrnoError(error)) {
      switch (error.code) {
        case "ETIMEDOUT":
          return deadlineExceeded(`no console received on "${this.path}" within ${timeoutMs} ms`, error);
        case "ECANCELED":
          return new HuskError(Code.Canceled, `console socket "${this.path}" closed while receiving`, {
            cause: error,
          });
        case "EBADMSG":
          return invalidArgument(`malformed console message on "${this.path}": ${error.message}`, error);
        default:
          break;
      }
    }
    return HuskError.from(error, `receive console on "${this.path}"`);
  }
}

/**
 * Creates a listening console socket at `<mkdtemp(parentDir ?? $XDG_RUNTIME_DIR ?? os.tmpdir(), "pty")>/pty.sock`.
 * When the directory comes from XDG_RUNTIME_DIR it is made 0755 + sticky so a runtime running as
 * another user can reach it. InvalidArgument when the path would exceed 107 bytes.
 */
export async function createConsoleSocket(parentDir?: string): Promise<ConsoleSocket> {
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  const fromXdg = parentDir === undefined && runtimeDir !== undefined && runtimeDir !== "";
  const base = parentDir ?? (fromXdg ? runtimeDir : tmpdir());
  let dir: string;
  try {
    dir = await mkdtemp(join(base, "pty"));
  } catch (error) {
    throw HuskError.from(error, `create console socket directory in "${base}"`);
  }
  const path = join(dir, "pty.sock");
  try {
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
      throw invalidArgument(`console socket path "${path}" is longer than ${MAX_SOCKET_PATH_BYTES} bytes`);
    }
    if (fromXdg) await chmod(dir, 0o1755);
    const listenFd = native().listenUnix(path);
    let cancelFd: number;
    try {
      cancelFd = native().eventfd();
    } catch (error) {
      closeSync(listenFd);
      throw error;
    }
    return new ConsoleSocketImpl(dir, path, listenFd, cancelFd);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw HuskError.from(error, `create console socket "${path}"`);
  }
}
