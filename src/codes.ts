/**
 * The gRPC status code set: the numbers containerd expects on the wire (errdefs maps them to its error classes) and
 * the codes of husk's own errors. A leaf module with no imports, shared by `errors.ts` and the generic `ttrpc/`.
 */

/** gRPC status codes. */
export const Code = {
  OK: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

const codeNames = new Map<number, string>(Object.entries(Code).map(([name, value]) => [value, name]));

/** Name of a code, e.g. `NotFound`; `Code(42)` for numbers outside the set. */
export function codeName(code: number): string {
  return codeNames.get(code) ?? `Code(${code})`;
}
