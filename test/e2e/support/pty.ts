/**
 * Runs a command on a real pseudo-terminal (via @lydell/node-pty), so that `ctr … -t` finds a console to put into raw
 * mode and to take the window size from. Test support only.
 */
import { spawn } from "@lydell/node-pty";

/** Options for {@link runUnderPty}. */
export interface PtyRunOptions {
  /** Terminal width in columns. */
  readonly cols: number;
  /** Terminal height in rows. */
  readonly rows: number;
  /** Kill the command (SIGKILL) after this long; default 120 s. */
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
}

/** What a command printed on the terminal and how it ended. */
export interface PtyRunResult {
  /** Everything read from the pty master (the terminal may turn "\n" into "\r\n"). */
  readonly output: string;
  readonly exitCode: number;
  readonly signal: number | undefined;
  readonly timedOut: boolean;
}

/** Spawns `file ARGS` as the session leader of a new pty of the given size and collects its output until it exits. */
export function runUnderPty(
  file: string,
  args: readonly string[],
  options: PtyRunOptions,
): Promise<PtyRunResult> {
  return new Promise((resolve) => {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
    Object.assign(env, { TERM: "xterm" }, options.env);
    const term = spawn(file, [...args], { name: "xterm", cols: options.cols, rows: options.rows, env });
    let output = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      term.kill("SIGKILL");
    }, options.timeoutMs ?? 120_000);
    term.onData((data) => {
      output += data;
    });
    term.onExit(({ exitCode, signal }) => {
      clearTimeout(timer);
      // node-pty may deliver the last output after the exit notification; give the reader one turn.
      setImmediate(() => {
        resolve({ output, exitCode, signal, timedOut });
      });
    });
  });
}
