/**
 * husk's one error type. Every failure husk reports is a {@link HuskError} with a class from the
 * gRPC code set, which is exactly what containerd's errdefs package maps shim errors to. The ttrpc
 * server turns `code` into a wire status; the CLI prints `message`; library users switch on `code`.
 *
 * containerd counterpart: `errdefs` (ErrNotFound, ErrAlreadyExists, …) and `errdefs.ToGRPC`.
 */

import { Code, codeName } from "./codes.js";

export { Code, codeName };

// A registry symbol, so that `isHuskError` holds across two loaded copies of the library.
const brand = Symbol.for("husk.error");

/** A typed husk error: `code` says what kind of failure, `message` says what failed, lower case. */
export class HuskError extends Error {
  readonly code: Code;
  readonly [brand] = true;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = `HuskError(${codeName(code)})`;
  }

  /**
   * Converts anything thrown into a HuskError. Syscall errors keep their errno text and become
   * the cause: ENOENT → NotFound, EEXIST → AlreadyExists, EINVAL → InvalidArgument,
   * EPERM/EACCES → PermissionDenied, anything else → Unknown.
   */
  static from(value: unknown, context?: string): HuskError {
    if (isHuskError(value)) {
      return context === undefined
        ? value
        : new HuskError(value.code, `${context}: ${value.message}`, { cause: value });
    }
    const message = value instanceof Error ? value.message : String(value);
    const text = context === undefined ? message : `${context}: ${message}`;
    return new HuskError(codeForErrno(errnoOf(value)), text, { cause: value });
  }
}

/** True for a HuskError from any copy of the library. */
export function isHuskError(value: unknown): value is HuskError {
  return typeof value === "object" && value !== null && (value as { [brand]?: unknown })[brand] === true;
}

/** The errno name (`ENOENT`, …) of a Node syscall error, if it is one. */
export function errnoOf(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const code = (value as { code?: unknown }).code;
  return typeof code === "string" && code.startsWith("E") ? code : undefined;
}

function codeForErrno(errno: string | undefined): Code {
  switch (errno) {
    case "ENOENT":
    case "ESRCH":
      return Code.NotFound;
    case "EEXIST":
      return Code.AlreadyExists;
    case "EINVAL":
      return Code.InvalidArgument;
    case "EPERM":
    case "EACCES":
      return Code.PermissionDenied;
    default:
      return Code.Unknown;
  }
}

export const notFound = (message: string, cause?: unknown): HuskError =>
  new HuskError(Code.NotFound, message, { cause });
export const alreadyExists = (message: string, cause?: unknown): HuskError =>
  new HuskError(Code.AlreadyExists, message, { cause });
export const failedPrecondition = (message: string, cause?: unknown): HuskError =>
  new HuskError(Code.FailedPrecondition, message, { cause });
export const invalidArgument = (message: string, cause?: unknown): HuskError =>
  new HuskError(Code.InvalidArgument, message, { cause });
export const notImplemented = (message: string, cause?: unknown): HuskError =>
  new HuskError(Code.Unimplemented, message, { cause });
export const unavailable = (message: string, cause?: unknown): HuskError =>
  new HuskError(Code.Unavailable, message, { cause });
export const unknownError = (message: string, cause?: unknown): HuskError =>
  new HuskError(Code.Unknown, message, { cause });
export const internalError = (message: string, cause?: unknown): HuskError =>
  new HuskError(Code.Internal, message, { cause });
export const deadlineExceeded = (message: string, cause?: unknown): HuskError =>
  new HuskError(Code.DeadlineExceeded, message, { cause });
export const permissionDenied = (message: string, cause?: unknown): HuskError =>
  new HuskError(Code.PermissionDenied, message, { cause });
