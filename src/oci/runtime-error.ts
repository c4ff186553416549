/**
 * Turning an OCI runtime's error text into a typed {@link HuskError}. runc, crun and runsc report
 * everything with exit status 1 (or 255), so the message text is the only thing to branch on. The
 * table below is the single place that knows those texts; each row is unit-tested with the messages
 * the runtimes really print.
 *
 * containerd counterpart: `pkg/process` `checkKillError` and the "does not exist" checks in
 * `pkg/process/init.go` — extended to the crun phrasings and to state errors.
 */
import { Code, HuskError } from "../errors.js";

/** What a runtime error message says, independent of the operation that produced it. */
export const RuntimeErrorKind = {
  /** The runtime binary itself is missing. */
  BinaryNotFound: "binary-not-found",
  /** No container with that id under the runtime root. */
  ContainerNotFound: "container-not-found",
  /** The container's process has exited (or is a zombie); runc says "container not running". */
  NotRunning: "not-running",
  /** An id that is already taken. */
  AlreadyExists: "already-exists",
  /** The container is in the wrong state for the operation (start twice, delete while running…). */
  WrongState: "wrong-state",
  /** The process to run does not exist in the container's root filesystem. */
  ExecutableNotFound: "executable-not-found",
  /** The spec or the request is malformed. */
  InvalidSpec: "invalid-spec",
  /** The runtime does not support the operation (e.g. crun 1.8 has no `events`). */
  Unsupported: "unsupported",
  /** Anything not recognised. */
  Unknown: "unknown",
} as const;
export type RuntimeErrorKind = (typeof RuntimeErrorKind)[keyof typeof RuntimeErrorKind];

/** One row of the classification table: the first row whose pattern matches wins. */
export interface RuntimeErrorRule {
  readonly kind: RuntimeErrorKind;
  readonly pattern: RegExp;
  /** Which runtime prints it, for the reader (runc 1.1.5 / crun 1.8.1 as observed). */
  readonly example: string;
}

/**
 * The classification table, in match order. More specific rows come first: e.g. runc's
 * `namespace {"bogus" ""} does not exist` is a spec error, not a missing container.
 */
export const RUNTIME_ERROR_RULES: readonly RuntimeErrorRule[] = [
  // Spec errors that would otherwise look like "not found" rows.
  {
    kind: "invalid-spec",
    pattern: /namespace \{.*\} does not exist/,
    example: 'runc: namespace {"bogus" ""} does not exist',
  },
  // Already exists.
  {
    kind: "already-exists",
    pattern: /already exists/i,
    example: "runc: container with given ID already exists",
  },
  // Wrong state.
  { kind: "wrong-state", pattern: /cannot start an already running container/, example: "runc start twice" },
  {
    kind: "wrong-state",
    pattern: /cannot start a container (?:that has stopped|in the \w+ state)/,
    example: "runc start after exit / while paused",
  },
  {
    kind: "wrong-state",
    pattern: /cannot (?:delete|destroy) container .* that is not stopped/,
    example: "runc: cannot delete container c1 that is not stopped: running",
  },
  { kind: "wrong-state", pattern: /\bnot stopped\b/, example: "runc delete of a running container" },
  {
    kind: "wrong-state",
    pattern: /is not in `created` or `stopped` state/,
    example: "crun delete of a running container",
  },
  {
    kind: "wrong-state",
    pattern: /cannot exec in a (?:stopped|paused) container/,
    example: "runc exec in a stopped or paused container",
  },
  {
    kind: "wrong-state",
    pattern: /cannot open `[^`]*\/exec\.fifo`: No such file or directory/,
    example: "crun start twice",
  },
  { kind: "wrong-state", pattern: /container not paused/, example: "runc resume of a running container" },
  {
    kind: "wrong-state",
    pattern: /without a cgroup|not using cgroups/,
    example: "crun pause / ps without cgroups",
  },
  // Missing container.
  {
    kind: "container-not-found",
    pattern: /container(?: `[^`]*`)? does not exist/i,
    example: "runc: container does not exist; crun ≥1.22: container `c1` does not exist",
  },
  {
    kind: "container-not-found",
    pattern: /error opening file `[^`]*\/status`: No such file or directory/,
    example: "crun: any operation on a missing id",
  },
  {
    kind: "container-not-found",
    pattern: /cannot open directory '[^']*': No such file or directory/,
    example: "crun delete of a missing id",
  },
  // The process is gone.
  { kind: "not-running", pattern: /container not running/i, example: "runc kill of an exited container" },
  {
    kind: "not-running",
    pattern: /\bis not running\b/i,
    example: "runc events: container with id c1 is not running; crun: the container `c2` is not running",
  },
  { kind: "not-running", pattern: /process already finished/i, example: "go: os: process already finished" },
  {
    kind: "not-running",
    pattern: /no such process/i,
    example: "crun: kill container: No such process / open pidfd: No such process",
  },
  // The program to run is missing.
  {
    kind: "executable-not-found",
    pattern: /executable file\b.*\bnot found/,
    example:
      'runc: exec: "sleep": executable file not found in $PATH; crun: executable file `/nosuch` not found in $PATH',
  },
  {
    kind: "executable-not-found",
    pattern: /exec: "[^"]*": stat [^:]*: no such file or directory/,
    example: 'runc: exec: "/nosuch": stat /nosuch: no such file or directory',
  },
  // Malformed spec or request.
  {
    kind: "invalid-spec",
    pattern: /\binvalid\b/i,
    example:
      "runc: invalid rootfs / invalid environment variable / invalid container ID format; crun: invalid namespace type",
  },
  {
    kind: "invalid-spec",
    pattern: /args must not be empty|must be an absolute path|not absolute/i,
    example: "runc: args must not be empty / Cwd must be an absolute path",
  },
  {
    kind: "invalid-spec",
    pattern: /json: cannot unmarshal|JSON specification file .* not found|error loading config\.json/,
    example: "runc update with a bad resources JSON; missing config.json",
  },
  {
    kind: "invalid-spec",
    pattern: /cannot create state directory/,
    example: "crun: cannot create state directory for `bad/id`",
  },
  // Unsupported operations.
  {
    kind: "unsupported",
    pattern: /unknown command|no help topic for|flag provided but not defined/,
    example: "crun 1.8: unknown command events",
  },
];

/** The kind of a runtime error message (the first matching row of {@link RUNTIME_ERROR_RULES}). */
export function classifyRuntimeMessage(message: string): RuntimeErrorKind {
  for (const rule of RUNTIME_ERROR_RULES) {
    if (rule.pattern.test(message)) return rule.kind;
  }
  return "unknown";
}

/** Runtime operations, as named in error messages (the runtime subcommand). */
export type RuntimeOperation =
  | "create"
  | "start"
  | "state"
  | "kill"
  | "delete"
  | "exec"
  | "ps"
  | "pause"
  | "resume"
  | "update"
  | "events"
  | "checkpoint"
  | "restore"
  | "list";

/**
 * The gRPC code for an error of `kind` from operation `op`.
 *
 * "Not running" depends on the operation: for `kill` it means the process already finished
 * (NotFound, as containerd maps it), but runc also answers "container not running" to `pause` of a
 * paused container and to `update`/`events` of a stopped one, which are state errors
 * (FailedPrecondition).
 */
export function codeForRuntimeError(kind: RuntimeErrorKind, op: RuntimeOperation): Code {
  switch (kind) {
    case "binary-not-found":
    case "container-not-found":
    case "executable-not-found":
      return Code.NotFound;
    case "not-running":
      return op === "kill" ? Code.NotFound : Code.FailedPrecondition;
    case "already-exists":
      return Code.AlreadyExists;
    case "wrong-state":
      return Code.FailedPrecondition;
    case "invalid-spec":
      return Code.InvalidArgument;
    case "unsupported":
      return Code.Unimplemented;
    case "unknown":
      return Code.Unknown;
  }
}

/** A typed runtime failure: the HuskError plus what the runtime said and how it was classified. */
export interface RuntimeErrorDetails {
  readonly runtime: string;
  readonly op: RuntimeOperation;
  readonly id: string | undefined;
  /** The runtime's own message, as extracted from its log or stderr. */
  readonly runtimeMessage: string;
  readonly kind: RuntimeErrorKind;
}

const detailsKey = Symbol.for("husk.oci.runtime-error");

/**
 * Builds the HuskError for a failed runtime call. Message form:
 * `runc kill failed for container "c1": process already finished: container not running` — the
 * runtime's name, the operation, the container, then (for the two NotFound families, when the
 * runtime's wording differs) a uniform reason, then the runtime's own message.
 */
export function runtimeError(details: Omit<RuntimeErrorDetails, "kind">, cause?: unknown): HuskError {
  const kind = classifyRuntimeMessage(details.runtimeMessage);
  const code = codeForRuntimeError(kind, details.op);
  const subject = details.id === undefined ? "" : ` for container ${JSON.stringify(details.id)}`;
  let reason = details.runtimeMessage;
  if (kind === "container-not-found" && !/does not exist/i.test(reason)) {
    reason = `container does not exist: ${reason}`;
  } else if (kind === "not-running" && code === Code.NotFound && !/process already finished/i.test(reason)) {
    reason = `process already finished: ${reason}`;
  }
  const error = new HuskError(code, `${details.runtime} ${details.op} failed${subject}: ${reason}`, {
    cause,
  });
  Object.defineProperty(error, detailsKey, { value: { ...details, kind }, enumerable: false });
  return error;
}

/** The runtime details attached by {@link runtimeError}, if `error` came from a runtime call. */
export function runtimeErrorDetails(error: unknown): RuntimeErrorDetails | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  return (error as { [detailsKey]?: RuntimeErrorDetails })[detailsKey];
}
