/**
 * The shim daemon: one long-lived process serving every container of its group over ttrpc (fd 3, bound by `start`),
 * a child subreaper through the Supervisor, logging JSON lines on stderr (the bundle's `log` FIFO, opened by `start`),
 * forwarding events to containerd. It exits when containerd's Shutdown finds no container left, or on SIGTERM/SIGINT.
 *
 * containerd counterpart: runtime/v2/shim/shim.go `run` (serve mode) + runtime/v2/runc/task/service.go `New`.
 */
import { fstatSync, unlinkSync } from "node:fs";
import { TaskService } from "../api/index.js";
import { createSupervisor } from "../container/index.js";
import type { Logger } from "../log.js";
import { peerCredentials } from "../sys/index.js";
import { createTtrpcServer } from "../ttrpc/index.js";
import { VERSION } from "../version.js";
import type { ShimFlags } from "./flags.js";
import { createShimLogger } from "./logger.js";
import { createEventPublisher } from "./publisher.js";
import { createTaskService } from "./service.js";

/**
 * After the last container's Shutdown the daemon exits once it has been idle — no container, no open connection, and
 * no new connection — for this long. A `start` that just found the daemon (its probe is a connection) is therefore
 * always followed by containerd's own connection in time.
 */
const IDLE_GRACE_MS = 1000;
/**
 * A daemon with no container and no connection for this long is of no use to anyone (containerd died between
 * `start` and Create, or never sent Shutdown): it exits rather than linger. Checked twice, so a client that is just
 * connecting is never cut off.
 */
const ORPHAN_CHECK_MS = Number(process.env.HUSK_SHIM_ORPHAN_CHECK_MS ?? "") || 30_000;
/** How long shutdown waits for undelivered events. */
const EVENT_DRAIN_MS = 5000;
/** The listening socket `start` hands over. */
const LISTEN_FD = 3;

export async function runDaemon(flags: ShimFlags): Promise<void> {
  const log = createShimLogger({ debug: flags.debug, namespace: flags.namespace });
  // The first bundle may be deleted while we serve others: never keep it as our working directory.
  process.chdir("/");
  const socketPath = flags.socket === "" ? undefined : flags.socket;

  const supervisor = createSupervisor({ stateDir: `/run/husk/shim/${flags.namespace}`, logger: log });
  const ttrpcAddress = process.env.TTRPC_ADDRESS ?? "";
  const publisher =
    ttrpcAddress === ""
      ? undefined
      : createEventPublisher({ address: ttrpcAddress, namespace: flags.namespace, log });

  let stopping: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason }, "shim daemon stopping");
      // The socket path goes first, so that a `start` from now on launches a new daemon instead of finding this one.
      if (socketPath !== undefined) removeQuietly(socketPath);
      await server.close();
      stopEvents();
      await publisher?.close(EVENT_DRAIN_MS);
      log.info({}, "shim daemon stopped");
      process.exit(0);
    })();
    return stopping;
  };

  /**
   * Stops the daemon after `rounds` consecutive idle looks `everyMs` apart: no container, no open connection, and no
   * connection accepted since the previous look. Returns a cancel function.
   */
  const watchIdle = (everyMs: number, rounds: number, reason: string): (() => void) => {
    let accepted = server.stats().acceptedConnections;
    let idleRounds = 0;
    const timer = setInterval(() => {
      const stats = server.stats();
      const idle = supervisor.size === 0 && stats.connections === 0 && stats.acceptedConnections === accepted;
      accepted = stats.acceptedConnections;
      idleRounds = idle ? idleRounds + 1 : 0;
      if (idleRounds >= rounds) {
        clearInterval(timer);
        void stop(reason);
      }
    }, everyMs);
    timer.unref();
    return () => {
      clearInterval(timer);
    };
  };

  let cancelShutdownWatch: (() => void) | undefined;
  const { impl, stopEvents } = createTaskService({
    supervisor,
    namespace: flags.namespace,
    publisher,
    log,
    onShutdown: () => {
      cancelShutdownWatch?.();
      cancelShutdownWatch = watchIdle(IDLE_GRACE_MS, 1, "shutdown: no containers left");
    },
  });

  const server = createTtrpcServer({
    logger: log,
    authorize: (socket) => {
      // Only containerd (same uid and gid as us) may drive the shim, as containerd's own shim requires.
      const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
      if (fd === undefined || fd < 0) return false;
      const peer = peerCredentials(fd);
      return peer.uid === process.geteuid?.() && peer.gid === process.getegid?.();
    },
  });
  server.register(TaskService, impl);
  // Normally `start` bound the socket and passed it as fd 3; a daemon started by hand listens on -socket itself.
  const target = isSocketFd(LISTEN_FD) ? { fd: LISTEN_FD } : socketPath;
  if (target === undefined) throw new Error("no listening fd 3 and no -socket to listen on");
  await server.listen(target);

  watchIdle(ORPHAN_CHECK_MS, 2, "no containers and no connections");

  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("uncaughtException", (error) => crash(log, error));
  // A rejected promise nobody awaited is a bug, but not one that corrupts state: keep serving the other containers.
  process.on("unhandledRejection", (error) => {
    log.error({ err: error }, "unhandled rejection");
  });
  log.info({ version: VERSION, pid: process.pid, id: flags.id }, "shim daemon serving");
}

/** True when `fd` is an open socket (Node itself always has fds open at low numbers, so existence proves nothing). */
function isSocketFd(fd: number): boolean {
  try {
    return fstatSync(fd).isSocket();
  } catch {
    return false;
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** A bug in husk: log it where containerd shows it and exit non-zero (containerd then cleans up with `delete`). */
function crash(log: Logger, error: unknown): never {
  log.error({ err: error }, "shim daemon crashed");
  process.exit(2);
}
