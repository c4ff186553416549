/**
 * Running the `ctr` client: one-shot commands with captured output and long-running ones (e.g. `ctr events`) as
 * handles. Test support only — uses node:child_process, so it must never share a process with husk's native reaper.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable } from "node:stream";

/** Default wall-clock limit for one `ctr` command; generous because CI machines are slow, not a timing assertion. */
export const DEFAULT_CTR_TIMEOUT_MS = 120_000;

/** Options of one `ctr` command. */
export interface CtrOptions {
  /** Bytes written to ctr's stdin, which is then closed. Without it stdin is /dev/null. */
  readonly input?: string | Uint8Array;
  /** Kill ctr (SIGKILL) after this long; the result then has `timedOut: true`. */
  readonly timeoutMs?: number;
  /** Extra environment for ctr (merged over the test process's). */
  readonly env?: Readonly<Record<string, string>>;
  /** Namespace for this call instead of the harness's own. */
  readonly namespace?: string;
  /** Receives stdout chunks instead of collecting them (then `stdout` is ""), for large streams. */
  readonly onStdout?: (chunk: Buffer) => void;
}

/** Outcome of one `ctr` command. */
export interface CtrResult {
  /** Full argv after `ctr`, including the address and namespace flags the harness added. */
  readonly argv: readonly string[];
  /** Exit code, or null when ctr was killed by a signal. */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** A `ctr` process left running (e.g. `ctr events`), owned by the harness, stopped by pid in cleanup. */
export interface CtrProcess {
  readonly pid: number;
  readonly argv: readonly string[];
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** Settles when ctr has exited. */
  readonly exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
  /** Everything ctr wrote to stderr so far. */
  stderrText(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once ctr has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** Runs `ctr ARGV` to completion and collects its output. Never rejects for a non-zero exit. */
export function runCtr(argv: readonly string[], options: CtrOptions = {}): Promise<CtrResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("ctr", argv, {
      env: { ...process.env, ...options.env },
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs ?? DEFAULT_CTR_TIMEOUT_MS);
    child.stdout?.on("data", (chunk: Buffer) => {
      if (options.onStdout === undefined) stdout.push(chunk);
      else options.onStdout(chunk);
    });
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    if (options.input !== undefined && child.stdin !== null) {
      // ctr may exit before reading all of stdin; EPIPE then is not the test's concern.
      child.stdin.on("error", () => undefined);
      child.stdin.end(options.input);
    }
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({
        argv,
        status,
        signal,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
        timedOut,
      });
    });
  });
}

/** Starts `ctr ARGV` in the background with stdout/stderr piped to the caller. */
export function spawnCtr(argv: readonly string[], env: Readonly<Record<string, string>> = {}): CtrProcess {
  const child = spawn("ctr", argv, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const stderr: Buffer[] = [];
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("close", (status, signal) => {
      resolve({ status, signal });
    });
    child.on("error", () => {
      resolve({ status: null, signal: null });
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ctr ${argv.join(" ")}`);
  let stopping: Promise<void> | undefined;
  return {
    pid,
    argv,
    child,
    exited,
    stderrText: () => Buffer.concat(stderr).toString("utf8"),
    stop(graceMs = 5_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** Formats a result for an assertion message: argv, exit, and both streams (each cut to its last 4000 chars). */
export function describeResult(result: CtrResult): string {
  const cut = (text: string): string => (text.length > 4000 ? `…${text.slice(-4000)}` : text);
  const exit = result.timedOut
    ? "timed out"
    : result.status !== null
      ? `exit ${result.status}`
      : `signal ${result.signal ?? "?"}`;
  return `ctr ${result.argv.join(" ")} → ${exit}\n--- stdout ---\n${cut(result.stdout)}\n--- stderr ---\n${cut(result.stderr)}`;
}
