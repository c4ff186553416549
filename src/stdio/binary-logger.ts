/**
 * containerd's `binary://` logging plugin protocol: the logger program gets the container's stdout pipe as fd 3, its
 * stderr pipe as fd 4 and the write end of a readiness pipe as fd 5; it writes a byte (or closes fd 5) once ready.
 * Its environment is only CONTAINER_ID and CONTAINER_NAMESPACE. Stopping it: SIGTERM, then SIGKILL after 12 s.
 *
 * containerd counterpart: pkg/process io.go `NewBinaryIO`, io_util.go `NewBinaryCmd`.
 */
import { closeSync } from "node:fs";
import { Socket } from "node:net";
import { deadlineExceeded } from "../errors.js";
import { type Child, pipe, spawn } from "../sys/index.js";
import type { LoggerSpec } from "./spec.js";

/** How long the logger may take to signal readiness. containerd waits without a bound; a stuck logger must not hang us. */
const READY_TIMEOUT_MS = 30_000;
/** containerd gives the logger this long to exit after SIGTERM. */
const STOP_GRACE_MS = 12_000;

/** A running logger. */
export interface BinaryLogger {
  readonly pid: number;
  /** SIGTERM, wait up to 12 s, SIGKILL. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the logger with the given read ends as its fds 3 and 4 (the caller keeps and closes its own copies) and waits
 * until it is ready.
 */
export async function startBinaryLogger(
  spec: LoggerSpec,
  fds: { readonly stdoutFd: number; readonly stderrFd: number },
): Promise<BinaryLogger> {
  const [readyRead, readyWrite] = pipe();
  let child: Child;
  try {
    child = spawn({
      file: spec.path,
      args: spec.args,
      env: spec.env,
      fds: ["null", "null", "null", fds.stdoutFd, fds.stderrFd, readyWrite],
    });
  } catch (error) {
    closeSync(readyRead);
    throw error;
  } finally {
    closeSync(readyWrite);
  }
  const logger = loggerHandle(child);
  try {
    await waitReady(readyRead, child);
  } catch (error) {
    await logger.stop();
    throw error;
  }
  return logger;
}

/** Ready means one byte or end of stream on the readiness pipe; the logger dying first also ends the wait. */
function waitReady(readyRead: number, child: Child): Promise<void> {
  const ready = new Socket({ fd: readyRead, readable: true, writable: false });
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      finish(
        deadlineExceeded(`binary logger ${child.pid} did not signal readiness within ${READY_TIMEOUT_MS} ms`),
      );
    }, READY_TIMEOUT_MS);
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      ready.destroy();
      if (error === undefined) resolve();
      else reject(error);
    };
    ready.once("data", () => {
      finish();
    });
    ready.once("end", () => {
      finish();
    });
    ready.once("error", (error) => {
      finish(error);
    });
  });
}

function loggerHandle(child: Child): BinaryLogger {
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid,
    stop() {
      stopping ??= (async () => {
        child.kill("SIGTERM");
        let timer: NodeJS.Timeout | undefined;
        const graceOver = new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => {
            resolve("timeout");
          }, STOP_GRACE_MS);
        });
        const outcome = await Promise.race([child.exit, graceOver]);
        clearTimeout(timer);
        if (outcome === "timeout") {
          child.kill("SIGKILL");
          await child.exit;
        }
      })();
      return stopping;
    },
  };
}
