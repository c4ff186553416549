/**
 * Helpers for the CLI's integration tests: run the real `bin/husk` as a child process against a private state root,
 * find the daemon it starts, and check (and, on failure, force) the cleanup of containers, runtime state and daemon.
 * This file never loads husk's native reaper, so node:child_process is safe here.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn as spawnPty } from "@lydell/node-pty";
import { makeRootfs } from "../../support/make-rootfs.js";

/** The `husk` launcher of this checkout. */
export const HUSK_BIN = resolve(fileURLToPath(new URL("../../../../bin/husk", import.meta.url)));

/** What a `husk` invocation printed and how it ended. */
export interface HuskResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The end of the daemon's log when husk pointed at it (it lost the daemon), for failure messages. */
  readonly daemonLog?: string;
}

/** Options of {@link Lab.husk}. */
export interface HuskOptions {
  /** Written to husk's stdin, which is then closed; default: stdin is /dev/null. */
  readonly input?: string;
  /** Kill husk (SIGKILL) after this long; default 60 s. */
  readonly timeoutMs?: number;
}

/** A private state root with a rootfs, for one test file. */
export interface Lab {
  readonly root: string;
  readonly rootfs: string;
  /** `<root>/runtime/husk`, runc's `--root` for this state root. */
  readonly runtimeRoot: string;
  /** A unique container id with a readable prefix. */
  newId(prefix: string): string;
  /** Runs `husk ARGS` with HUSK_ROOT set to this root and waits for it. */
  husk(args: readonly string[], options?: HuskOptions): Promise<HuskResult>;
  /** Starts `husk ARGS` and returns the child, for tests that signal it. */
  spawnHusk(args: readonly string[]): ReturnType<typeof spawn>;
  /** The environment husk runs with. */
  readonly env: NodeJS.ProcessEnv;
  /** Force-removes everything this root may have left (containers, runtime state, daemon, directories). */
  destroy(): Promise<void>;
}

/** Makes a temp state root and a busybox rootfs. */
export function createLab(name: string): Lab {
  const base = mkdtempSync(join(tmpdir(), `husk-cli-${name}-`));
  const root = join(base, "root");
  const rootfs = makeRootfs(join(base, "rootfs"));
  const runtimeRoot = join(root, "runtime", "husk");
  const env: NodeJS.ProcessEnv = { ...process.env, HUSK_ROOT: root };
  delete env.TTRPC_ADDRESS;
  const spawnHusk = (args: readonly string[]): ReturnType<typeof spawn> =>
    spawn(HUSK_BIN, [...args], { env, stdio: ["pipe", "pipe", "pipe"] });
  return {
    root,
    rootfs,
    runtimeRoot,
    env,
    newId: (prefix) => `${prefix}-${randomBytes(4).toString("hex")}`,
    spawnHusk,
    async husk(args, options = {}) {
      const result = await collect(spawnHusk(args), options);
      return result.stderr.includes("daemon.log") ? { ...result, daemonLog: logTail(root) } : result;
    },
    async destroy() {
      await destroyRoot(root, runtimeRoot, env);
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Waits for a child's exit and collects its output. */
export function collect(child: ReturnType<typeof spawn>, options: HuskOptions = {}): Promise<HuskResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin?.on("error", () => undefined);
  child.stdin?.end(options.input ?? "");
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
    }, options.timeoutMs ?? 60_000);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (status, signal) => {
      clearTimeout(timer);
      resolvePromise({ status, signal, stdout, stderr });
    });
  });
}

/** A result in an assertion message. */
export function describeResult(result: HuskResult): string {
  const log = result.daemonLog === undefined ? "" : `\ndaemon.log ends:\n${result.daemonLog}`;
  return `status ${result.status} signal ${result.signal}\nstdout: ${JSON.stringify(result.stdout)}\nstderr: ${JSON.stringify(result.stderr)}${log}`;
}

/** Asserts that husk failed with exactly one line `husk: …` on stderr (no stack trace) matching `pattern`. */
export function assertOneLineError(result: HuskResult, pattern: RegExp): void {
  assert.notEqual(result.status, 0, describeResult(result));
  const lines = result.stderr.split("\n").filter((line) => line !== "");
  assert.equal(lines.length, 1, describeResult(result));
  assert.match(lines[0] ?? "", /^husk: /, describeResult(result));
  assert.match(lines[0] ?? "", pattern, describeResult(result));
  assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
}

/** Pids of daemons serving `root` (found by `-socket <root>/husk.sock` in /proc/PID/cmdline). */
export function daemonPids(root: string): number[] {
  const socket = join(root, "husk.sock");
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // exited meanwhile
    }
    const at = argv.indexOf("-socket");
    if (at !== -1 && argv[at + 1] === socket) pids.push(Number(entry));
  }
  return pids;
}

/** Ids of the containers runc knows under `runtimeRoot`. */
export function runtimeContainers(runtimeRoot: string): string[] {
  const result = spawnSync("runc", ["--root", runtimeRoot, "list", "-q"], { encoding: "utf8" });
  assert.equal(result.status, 0, `runc list: ${result.stderr}`);
  return result.stdout.split("\n").filter((line) => line !== "");
}

/** Container directories under the root. */
export function containerDirs(root: string): string[] {
  const dir = join(root, "containers");
  return existsSync(dir) ? readdirSync(dir) : [];
}

/**
 * Polls (every 50 ms) until `check` answers true or `timeoutMs` passes; answers the last result. For states that
 * another process changes with no event this process can subscribe to (a container's status, a daemon's exit).
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 50));
  }
}

/**
 * Asserts that the root is clean: no container directory, no runtime container, and the daemon exited by itself
 * within `graceMs` (it must, after the last delete's Shutdown). A daemon still alive is killed, then the test fails.
 */
export async function assertLeftNothing(lab: Lab, graceMs = 5_000): Promise<void> {
  assert.deepEqual(containerDirs(lab.root), [], "container directories left");
  assert.deepEqual(runtimeContainers(lab.runtimeRoot), [], "runtime containers left");
  const exited = await eventually(() => daemonPids(lab.root).length === 0, graceMs);
  if (!exited) {
    const pids = daemonPids(lab.root);
    for (const pid of pids) killQuietly(pid);
    assert.fail(
      `the husk daemon (pid ${pids.join(", ")}) did not exit by itself within ${graceMs} ms; its log ends:\n${logTail(lab.root)}`,
    );
  }
}

/** Forced cleanup, for after hooks: deletes every container through husk, then whatever the runtime still has. */
async function destroyRoot(root: string, runtimeRoot: string, env: NodeJS.ProcessEnv): Promise<void> {
  for (const id of containerDirs(root)) {
    const child = spawn(HUSK_BIN, ["delete", "-f", id], { env, stdio: ["ignore", "ignore", "ignore"] });
    await collect(child, { timeoutMs: 40_000 }).catch(() => undefined);
  }
  if (existsSync(runtimeRoot)) {
    for (const id of runtimeContainers(runtimeRoot)) {
      spawnSync("runc", ["--root", runtimeRoot, "delete", "--force", id]);
    }
  }
  for (const pid of daemonPids(root)) killQuietly(pid);
}

/** The last lines of the daemon's log, for failure messages. */
function logTail(root: string, lines = 15): string {
  try {
    return readFileSync(join(root, "daemon.log"), "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no daemon.log)";
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** What a command printed on a terminal and how it ended. */
export interface PtyResult {
  /** Everything read from the pty master (the terminal turns "\n" into "\r\n"). */
  readonly output: string;
  readonly exitCode: number;
  readonly timedOut: boolean;
}

/** Options of {@link runUnderPty}. */
export interface PtyOptions {
  readonly cols: number;
  readonly rows: number;
  readonly env: NodeJS.ProcessEnv;
  /** Called with each chunk of output and a writer to the terminal (to type into it). */
  readonly onData?: (data: string, write: (text: string) => void) => void;
  readonly timeoutMs?: number;
}

/** Runs `husk ARGS` as the session leader of a new pty of the given size. */
export function runUnderPty(args: readonly string[], options: PtyOptions): Promise<PtyResult> {
  return new Promise((resolvePromise) => {
    const env: Record<string, string> = { TERM: "xterm" };
    for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
    const term = spawnPty(HUSK_BIN, [...args], {
      name: "xterm",
      cols: options.cols,
      rows: options.rows,
      env,
    });
    let output = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      term.kill("SIGKILL");
    }, options.timeoutMs ?? 60_000);
    term.onData((data) => {
      output += data;
      options.onData?.(data, (text) => {
        term.write(text);
      });
    });
    term.onExit(({ exitCode }) => {
      clearTimeout(timer);
      // The last output may arrive after the exit notification: give the reader one turn.
      setImmediate(() => {
        resolvePromise({ output, exitCode, timedOut });
      });
    });
  });
}
