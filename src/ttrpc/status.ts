/**
 * ttrpc status codes and errors: the gRPC code set that ttrpc carries in `google.rpc.Status`, the
 * client-side error type, and the mapping from anything a handler throws to a wire status.
 *
 * containerd counterpart: `github.com/containerd/ttrpc` `services.go` (`serviceSet.call`,
 * `convertCode`) and `google.golang.org/grpc/status`; containerd's `errdefs.FromGRPC` reads the codes.
 */

import { Code, codeName } from "../codes.js";

/** gRPC status codes, the numbers containerd expects on the wire (the shared code set, under ttrpc's name). */
export const StatusCode = Code;
export type StatusCode = Code;

/** Name of a status code, e.g. `NotFound`; `Code(42)` for numbers outside the set. */
export const statusCodeName = codeName;

/** Message of the error every pending and later call gets once a client's connection is gone (as Go's ttrpc). */
export const CLOSED_MESSAGE = "ttrpc: closed";
/** Message for a call whose deadline passed (Go's `context.DeadlineExceeded` text). */
export const DEADLINE_MESSAGE = "context deadline exceeded";
/** Message for a call cancelled by its caller or by a lost connection (Go's `context.Canceled` text). */
export const CANCELED_MESSAGE = "context canceled";

const brand = Symbol.for("husk.ttrpc.error");

/**
 * A failed ttrpc call: `code` is the status code from the wire (or a local one such as Unavailable
 * for a lost connection, DeadlineExceeded for an expired deadline), `message` the status text as sent.
 * It has the `{ code, message }` shape the server maps back to a wire status, so relaying works.
 */
export class TtrpcError extends Error {
  readonly code: number;
  readonly [brand] = true;

  constructor(code: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = `TtrpcError(${statusCodeName(code)})`;
  }
}

/** True for a TtrpcError from any loaded copy of this module. */
export function isTtrpcError(value: unknown): value is TtrpcError {
  return typeof value === "object" && value !== null && (value as { [brand]?: unknown })[brand] === true;
}

/** A status as it goes on the wire. */
export interface WireStatus {
  readonly code: number;
  readonly message: string;
}

/**
 * True for an object that names its own wire status: an integer `code` in 1..16 and a string
 * `message` (husk's errors and {@link TtrpcError} have this shape). Code 0 is excluded: an error
 * cannot say OK.
 */
export function hasWireStatus(value: unknown): value is WireStatus {
  if (typeof value !== "object" || value === null) return false;
  const { code, message } = value as { code?: unknown; message?: unknown };
  return (
    typeof code === "number" &&
    Number.isInteger(code) &&
    code >= 1 &&
    code <= 16 &&
    typeof message === "string"
  );
}

/**
 * The wire status for something a handler threw. Objects with their own status keep it; an
 * AbortError whose cause (or whose call signal's reason) has a status takes that one, so rethrowing
 * after a deadline answers DeadlineExceeded; anything else is Unknown (2) with its message, as
 * ttrpc does for plain Go errors.
 */
export function statusFromError(error: unknown, signal?: AbortSignal): WireStatus {
  if (hasWireStatus(error)) return { code: error.code, message: error.message };
  if (isAbortError(error)) {
    const cause = (error as { cause?: unknown }).cause;
    if (hasWireStatus(cause)) return { code: cause.code, message: cause.message };
    if (signal?.aborted === true && hasWireStatus(signal.reason)) {
      return { code: signal.reason.code, message: signal.reason.message };
    }
    return { code: StatusCode.Canceled, message: CANCELED_MESSAGE };
  }
  if (error instanceof Error) return { code: StatusCode.Unknown, message: error.message };
  return { code: StatusCode.Unknown, message: String(error) };
}

function isAbortError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const name = (error as { name?: unknown }).name;
  return name === "AbortError" || name === "TimeoutError";
}
