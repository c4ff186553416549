/**
 * What a process's stdio is connected to, independent of who asks: a library user wants Node streams, the CLI hands
 * over its own fds, containerd names FIFOs, files or a `binary://` logger.
 */
import { invalidArgument } from "../errors.js";

/** One stream's target. */
export type StreamSpec =
  /** /dev/null. */
  | { readonly kind: "null" }
  /** A Node stream on our side of a real pipe (`ProcessIO.stdin/stdout/stderr`). */
  | { readonly kind: "pipe" }
  /** Our own fd handed to the container as is (dup'd; the caller keeps and closes theirs). No copying at all. */
  | { readonly kind: "fd"; readonly fd: number }
  /** A named pipe created by a client (containerd's `cio`): copied to/from without ever blocking the event loop. */
  | { readonly kind: "fifo"; readonly path: string }
  /** A regular file, appended to; the container writes into it directly. */
  | { readonly kind: "file"; readonly path: string };

/** containerd's logging plugin: a program that receives the output pipes as fds 3 and 4 (see binary-logger.ts). */
export interface LoggerSpec {
  readonly path: string;
  readonly args: readonly string[];
  /** The only environment the logger gets (containerd passes CONTAINER_ID and CONTAINER_NAMESPACE). */
  readonly env: Readonly<Record<string, string>>;
}

/** A process's stdio. Missing streams are /dev/null. */
export interface StdioSpec {
  readonly stdin?: StreamSpec;
  readonly stdout?: StreamSpec;
  readonly stderr?: StreamSpec;
  /** Run the process on a pty; stderr is merged into stdout by the terminal and `stderr` is ignored. */
  readonly terminal?: boolean;
  /** When set, stdout and stderr go to this logger and their StreamSpecs are ignored. */
  readonly logger?: LoggerSpec;
  /** Owner of the container-side pipe ends, so a non-root container user can use them (runc Options IoUid/IoGid). */
  readonly uid?: number;
  readonly gid?: number;
}

export const NULL_STREAM: StreamSpec = { kind: "null" };

/**
 * Reads containerd's stdio strings (CreateTaskRequest / ExecProcessRequest stdin, stdout, stderr): the stdout URL's
 * scheme decides the mode for the whole process — a plain path or `fifo://` names FIFOs, `file:///abs` appends both
 * streams to one file, `binary:///path?k=v` starts a logging plugin. Empty strings are /dev/null.
 *
 * containerd counterpart: pkg/process `createIO` and pkg/stdio.
 */
export function stdioFromContainerd(
  request: {
    readonly stdin: string;
    readonly stdout: string;
    readonly stderr: string;
    readonly terminal: boolean;
  },
  owner: { readonly containerId: string; readonly namespace: string },
): StdioSpec {
  const stdin: StreamSpec =
    request.stdin === "" ? NULL_STREAM : { kind: "fifo", path: fifoPath(request.stdin) };
  if (request.stdout === "" && request.stderr === "") {
    return { stdin, terminal: request.terminal };
  }
  const url = parseUrl(request.stdout);
  if (url === undefined || url.protocol === "fifo:") {
    return {
      stdin,
      stdout: request.stdout === "" ? NULL_STREAM : { kind: "fifo", path: fifoPath(request.stdout) },
      stderr: request.stderr === "" ? NULL_STREAM : { kind: "fifo", path: fifoPath(request.stderr) },
      terminal: request.terminal,
    };
  }
  switch (url.protocol) {
    case "file:": {
      const path = decodeURIComponent(url.pathname);
      if (!path.startsWith("/")) throw invalidArgument(`stdio file path "${path}" is not absolute`);
      return {
        stdin,
        stdout: { kind: "file", path },
        stderr: { kind: "file", path },
        terminal: request.terminal,
      };
    }
    case "binary:": {
      const path = decodeURIComponent(url.pathname);
      if (path === "" || path === "/")
        throw invalidArgument(`binary logger URI "${request.stdout}" names no program`);
      const args: string[] = [];
      // Each query key, then its first value (containerd does the same, in map order).
      for (const key of new Set(url.searchParams.keys())) {
        args.push(key, url.searchParams.get(key) ?? "");
      }
      return {
        stdin,
        terminal: request.terminal,
        logger: {
          path,
          args,
          env: { CONTAINER_ID: owner.containerId, CONTAINER_NAMESPACE: owner.namespace },
        },
      };
    }
    default:
      throw invalidArgument(`unknown STDIO scheme ${url.protocol.replace(/:$/, "")}`);
  }
}

function parseUrl(value: string): URL | undefined {
  // A plain absolute path has no scheme; URL() would reject it or read it oddly.
  if (value === "" || value.startsWith("/")) return undefined;
  try {
    return new URL(value);
  } catch {
    throw invalidArgument(`stdio "${value}" is neither an absolute path nor a URL`);
  }
}

function fifoPath(value: string): string {
  const path = value.startsWith("fifo://") ? value.slice("fifo://".length) : value;
  if (!path.startsWith("/")) throw invalidArgument(`stdio fifo path "${value}" is not absolute`);
  return path;
}
