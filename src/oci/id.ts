/**
 * Container id validation. Runtime state lives in `<root>/<id>`, so an id is also a path component:
 * it must never contain a separator or `..`.
 */
import { invalidArgument } from "../errors.js";

/** Longest container id accepted, in characters (containerd's identifiers limit). */
export const MAX_CONTAINER_ID_LENGTH = 76;

// Alphanumeric runs joined by single separators: no leading, trailing or doubled `.`/`_`/`-`.
const ID_PATTERN = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

/** True when `id` is a valid container id (see {@link validateContainerId}). */
export function isValidContainerId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_CONTAINER_ID_LENGTH && ID_PATTERN.test(id);
}

/**
 * Throws InvalidArgument unless `id` is alphanumerics joined by single `.`, `_` or `-`, at most
 * {@link MAX_CONTAINER_ID_LENGTH} characters. Returns the id for chaining.
 *
 * containerd counterpart: `identifiers.Validate`.
 */
export function validateContainerId(id: string): string {
  if (id.length === 0) throw invalidArgument("container id must not be empty");
  if (id.length > MAX_CONTAINER_ID_LENGTH) {
    throw invalidArgument(
      `container id "${id.slice(0, 20)}…" is ${id.length} characters long, the limit is ${MAX_CONTAINER_ID_LENGTH}`,
    );
  }
  if (!ID_PATTERN.test(id)) {
    throw invalidArgument(
      `container id ${JSON.stringify(id)} is invalid: use letters and digits joined by single ".", "_" or "-"`,
    );
  }
  return id;
}
