/**
 * Reading error messages out of what an OCI runtime leaves behind: its `--log` file (JSON lines) and
 * its stderr (runc's logrus text lines, crun's bare text, or JSON when `--log-format json` goes to
 * stderr).
 *
 * containerd counterpart: `pkg/process` `getLastRuntimeError` — but we read only the lines appended by
 * one invocation (the log file is shared by every call for a bundle and never truncated, so the last
 * error line of the whole file can be stale).
 */
import { open, stat } from "node:fs/promises";
import { errnoOf } from "../errors.js";

/** Largest tail of a log file we parse for one invocation, in bytes; older lines are skipped. */
export const MAX_LOG_TAIL_BYTES = 1024 * 1024;

/** Size of `path` in bytes, or 0 when it does not exist yet. Call before each runtime invocation. */
export async function logFileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return 0;
    throw error;
  }
}

/**
 * The text appended to `path` since byte `fromOffset` (at most {@link MAX_LOG_TAIL_BYTES}, from the
 * end). Returns "" when the file is missing or did not grow; a file that shrank is read from the start.
 */
export async function readLogTail(path: string, fromOffset: number): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return "";
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const from = size < fromOffset ? 0 : Math.max(fromOffset, size - MAX_LOG_TAIL_BYTES);
    const length = size - from;
    if (length <= 0) return "";
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, from);
    return buffer.subarray(0, bytesRead).toString("utf8");
  } finally {
    await handle.close();
  }
}

/**
 * The message of the last error-level line in `text`, or undefined when there is none. Understands
 * JSON lines (`{"level":"error","msg":…}` in any key order, as runc and crun write them) and logrus
 * text lines (`time=… level=error msg="…"`, what runc prints on stderr). Lines that are neither are
 * ignored.
 */
export function lastErrorMessage(text: string): string | undefined {
  let last: string | undefined;
  for (const line of text.split("\n")) {
    const message = errorMessageOfLine(line.trim());
    if (message !== undefined) last = message;
  }
  return last;
}

function errorMessageOfLine(line: string): string | undefined {
  if (line.startsWith("{")) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (typeof value !== "object" || value === null) return undefined;
    const { level, msg } = value as { level?: unknown; msg?: unknown };
    if (typeof level !== "string" || typeof msg !== "string") return undefined;
    return isErrorLevel(level) ? msg.trim() : undefined;
  }
  const level = /(?:^|\s)level=("?)([a-z]+)\1(?=\s|$)/.exec(line)?.[2];
  if (level === undefined || !isErrorLevel(level)) return undefined;
  return logfmtValue(line, "msg")?.trim();
}

function isErrorLevel(level: string): boolean {
  return level === "error" || level === "fatal" || level === "panic";
}

/** The value of `key=` in a logfmt line: a Go-quoted string or a bare word. */
function logfmtValue(line: string, key: string): string | undefined {
  const start = new RegExp(`(?:^|\\s)${key}=`).exec(line);
  if (start === null) return undefined;
  const rest = line.slice(start.index + start[0].length);
  if (!rest.startsWith('"')) return /^\S*/.exec(rest)?.[0];
  // Find the closing quote, skipping backslash escapes.
  let end = 1;
  while (end < rest.length && rest[end] !== '"') end += rest[end] === "\\" ? 2 : 1;
  const quoted = rest.slice(0, end + 1);
  try {
    return JSON.parse(quoted) as string;
  } catch {
    // Go-only escapes (\x.., \a): keep the text readable rather than failing.
    return quoted.slice(1, -1).replace(/\\(.)/g, "$1");
  }
}

/** What one runtime invocation left behind when it failed. */
export interface RuntimeFailureOutput {
  /** Text the invocation appended to its `--log` file ("" without one). */
  readonly logText: string;
  /** Its captured stderr ("" when stderr was handed to the container). */
  readonly stderr: string;
  readonly status: number;
  readonly signal: number | undefined;
}

/**
 * The best message for a failed invocation: the last error line it appended to its log; else the last
 * error line (or, failing that, the trimmed text) of its stderr; else "exit status N" /
 * "killed by signal N".
 */
export function failureMessage(output: RuntimeFailureOutput): string {
  const fromLog = lastErrorMessage(output.logText);
  if (fromLog !== undefined && fromLog !== "") return fromLog;
  const fromStderr = lastErrorMessage(output.stderr) ?? output.stderr.trim();
  if (fromStderr !== "") return fromStderr;
  return output.signal === undefined ? `exit status ${output.status}` : `killed by signal ${output.signal}`;
}
