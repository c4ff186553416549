/**
 * The CLI's side of the husk daemon: find the one serving a state root, start it when asked, and talk to it over
 * ttrpc with the Task API, exactly as containerd talks to a shim. The daemon is husk's shim daemon
 * (`src/shim/daemon.ts`), launched detached by the shim's own `launchDaemon`, so containers outlive the CLI.
 *
 * containerd counterpart: `ctr`'s task client over a shim connection (runtime/v2/shim `Connect` + the generated
 * task ttrpc client).
 */
import {
  closeSync,
  constants as fsc,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
} from "node:fs";
import { fileURLToPath } from "node:url";
import { TaskService } from "../api/index.js";
import { type Code, errnoOf, HuskError, isHuskError, unavailable } from "../errors.js";
import { bindSocket, isListening, launchDaemon } from "../shim/start.js";
import {
  type CallOptions,
  CLOSED_MESSAGE,
  createTtrpcClient,
  isTtrpcError,
  type ServiceClient,
  type TtrpcClient,
} from "../ttrpc/index.js";
import { CLI_DAEMON_ID, CLI_NAMESPACE, type RootLayout } from "./layout.js";

/** The Task API client the commands use: errors arrive as {@link HuskError}s. */
export type TaskClient = ServiceClient<typeof TaskService>;

/** A connection to the daemon of one state root. */
export interface DaemonConnection {
  readonly task: TaskClient;
  /** True when this invocation launched the daemon. */
  readonly launched: boolean;
  /** Closes the connection (not the daemon). Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link connectDaemon}. */
export interface ConnectOptions {
  /** Launch a daemon when none is listening; otherwise answer undefined. */
  readonly start: boolean;
  /** A daemon launched now logs at debug level. */
  readonly debug?: boolean;
}

/** Every call but Wait gets this deadline (ms): runtime commands are slow, but never this slow. */
export const CALL_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 5_000;
const LAUNCH_ATTEMPTS = 3;

/**
 * Connects to the daemon of `layout.root`. With `start`, launches one first when nothing listens on the socket;
 * without, resolves undefined when no daemon runs. Rejects with Unavailable when the daemon cannot be reached.
 */
export async function connectDaemon(
  layout: RootLayout,
  options: ConnectOptions & { readonly start: true },
): Promise<DaemonConnection>;
export async function connectDaemon(
  layout: RootLayout,
  options: ConnectOptions,
): Promise<DaemonConnection | undefined>;
export async function connectDaemon(
  layout: RootLayout,
  options: ConnectOptions,
): Promise<DaemonConnection | undefined> {
  let launched = false;
  if (!(await isListening(layout.socket))) {
    if (!options.start) return undefined;
    launched = await launchDaemonFor(layout, options.debug ?? false);
  }
  let client: TtrpcClient;
  try {
    client = await createTtrpcClient(layout.socket, { connectTimeoutMs: CONNECT_TIMEOUT_MS });
  } catch (error) {
    throw unavailable(`cannot reach the husk daemon at ${layout.socket}: ${messageOf(error)}`, error);
  }
  return {
    task: taskClient(client, layout),
    launched,
    close: () => client.close(),
  };
}

/**
 * Starts a daemon for `layout` unless one is already listening; true when this call launched it.
 *
 * The listening socket is bound under a private name, hard-linked to `husk.sock` (link(2) fails if the name exists,
 * so two CLIs racing cannot both install a daemon), handed to the daemon as fd 3, and then closed here: closing a
 * bound unix socket in Node unlinks its name, which removes only the private name, and stops this process from
 * accepting connections meant for the daemon.
 */
async function launchDaemonFor(layout: RootLayout, debug: boolean): Promise<boolean> {
  mkdirSync(layout.root, { recursive: true, mode: 0o711 });
  for (let attempt = 0; attempt < LAUNCH_ATTEMPTS; attempt++) {
    if (await isListening(layout.socket)) return false;
    const privateName = `${layout.socket}.${process.pid}.${attempt}`;
    rmSync(privateName, { force: true });
    const server = await bindSocket(privateName);
    if (server === "reused") continue;
    try {
      try {
        linkSync(privateName, layout.socket);
      } catch (error) {
        if (errnoOf(error) !== "EEXIST") throw error;
        if (await isListening(layout.socket)) return false;
        // A leftover of a daemon that was killed: nobody listens there. Replace it on the next attempt.
        rmSync(layout.socket, { force: true });
        continue;
      }
      const log = openSync(layout.daemonLog, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, 0o600);
      try {
        // The daemon publishes events only when TTRPC_ADDRESS names a containerd; the CLI's daemon has none.
        delete process.env.TTRPC_ADDRESS;
        launchDaemon({
          script: fileURLToPath(new URL("../shim/main.js", import.meta.url)),
          flags: {
            namespace: CLI_NAMESPACE,
            id: CLI_DAEMON_ID,
            address: layout.root,
            debug,
            socket: layout.socket,
          },
          server,
          cwd: layout.root,
          stderr: log,
        });
      } catch (error) {
        rmSync(layout.socket, { force: true });
        throw unavailable(`cannot start the husk daemon: ${messageOf(error)}`, error);
      } finally {
        closeSync(log);
      }
      return true;
    } finally {
      server.close();
    }
  }
  throw unavailable(`cannot start the husk daemon at ${layout.socket}`);
}

/** A typed Task client whose calls carry a default deadline (none for Wait) and fail with HuskErrors. */
function taskClient(client: TtrpcClient, layout: RootLayout): TaskClient {
  const facade: Record<string, (request: never, options?: CallOptions) => Promise<unknown>> = {};
  for (const method of TaskService.methods) {
    if (method.methodKind !== "unary") continue;
    const blocking = method.localName === "wait";
    facade[method.localName] = async (request, options) => {
      const callOptions =
        blocking || options?.timeoutMs !== undefined ? options : { ...options, timeoutMs: CALL_TIMEOUT_MS };
      try {
        return await client.call(
          TaskService.typeName,
          method.name,
          method.input,
          request,
          method.output,
          callOptions,
        );
      } catch (error) {
        throw fromDaemon(error, layout);
      }
    };
  }
  return facade as unknown as TaskClient;
}

/** A daemon's answer as a HuskError; a lost connection points at the daemon's log. */
function fromDaemon(error: unknown, layout: RootLayout): HuskError {
  if (isHuskError(error)) return error;
  if (isTtrpcError(error)) {
    if (error.message === CLOSED_MESSAGE) {
      const last = lastDaemonError(layout.daemonLog);
      const detail = last === undefined ? "" : `; its last error: ${last}`;
      return unavailable(`the husk daemon closed the connection${detail} (see ${layout.daemonLog})`, error);
    }
    return new HuskError(error.code as Code, error.message, { cause: error });
  }
  return HuskError.from(error, "husk daemon");
}

/** How much of the daemon's log end is searched for its last error. */
const LOG_TAIL_BYTES = 16 * 1024;

/**
 * The last error the daemon logged, from the end of its log: the message (and `err.message`) of the last JSON line
 * at level error or fatal, or the last plain-text line after it (Node's own report of a crash). Undefined if none.
 */
export function lastDaemonError(logPath: string): string | undefined {
  let tail: string;
  try {
    const fd = openSync(logPath, fsc.O_RDONLY);
    try {
      const size = fstatSync(fd).size;
      const buffer = Buffer.alloc(Math.min(size, LOG_TAIL_BYTES));
      readSync(fd, buffer, 0, buffer.length, size - buffer.length);
      tail = buffer.toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const lines = tail.split("\n").filter((line) => line.trim() !== "");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] ?? "";
    let entry: { level?: unknown; msg?: unknown; err?: { message?: unknown } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      // Not one of the daemon's JSON lines: Node's crash report; its first line says what happened.
      if (/^\s+at /.test(line) || line.startsWith("Node.js v")) continue;
      return line.trim().slice(0, 300);
    }
    if (typeof entry.level === "number" && entry.level >= 50) {
      const cause = typeof entry.err?.message === "string" ? `: ${entry.err.message}` : "";
      return `${String(entry.msg)}${cause}`.slice(0, 300);
    }
  }
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
