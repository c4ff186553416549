/**
 * Small helpers the scenarios share: polling with a timeout (never a bare sleep), and parsing `ctr task ls`.
 */
import { readFileSync } from "node:fs";
import type { Containerd } from "./containerd.js";
import { type EventStream, stringField } from "./events.js";

/** Default limit for {@link waitUntil}; generous, not a timing assertion. */
export const DEFAULT_WAIT_MS = 60_000;

/**
 * Polls `check` every `intervalMs` until it returns a value other than undefined/false, and returns that value;
 * throws naming `what` after `timeoutMs`.
 */
export async function waitUntil<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = DEFAULT_WAIT_MS,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** One row of `ctr task ls`. */
export interface TaskRow {
  readonly id: string;
  readonly pid: number;
  /** RUNNING, STOPPED, PAUSED, CREATED, PAUSING or UNKNOWN. */
  readonly status: string;
}

/** Runs `ctr task ls` and parses its table (`TASK PID STATUS`). */
export async function listTasks(containerd: Containerd): Promise<TaskRow[]> {
  const result = await containerd.ctrOk(["tasks", "ls"]);
  return result.stdout
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cells) => cells.length >= 3)
    .map(([id = "", pid = "0", status = ""]) => ({ id, pid: Number(pid), status }));
}

/** The row of one task, or throws with the whole table. */
export async function taskRow(containerd: Containerd, id: string): Promise<TaskRow> {
  const rows = await listTasks(containerd);
  const row = rows.find((r) => r.id === id);
  if (row === undefined) throw new Error(`task ${id} not in ctr task ls: ${JSON.stringify(rows)}`);
  return row;
}

/** Waits until `ctr task ls` shows `status` for task `id`, returning the row. */
export function waitForTaskStatus(containerd: Containerd, id: string, status: string): Promise<TaskRow> {
  return waitUntil(async () => {
    const row = (await listTasks(containerd)).find((r) => r.id === id);
    return row?.status === status ? row : undefined;
  }, `task ${id} to be ${status}`);
}

/** The pids `ctr task ps ID` lists (first column). */
export async function taskPids(containerd: Containerd, id: string): Promise<number[]> {
  const result = await containerd.ctrOk(["tasks", "ps", id]);
  return result.stdout
    .split("\n")
    .slice(1)
    .map((line) => Number(line.trim().split(/\s+/)[0]))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

/** Waits until the file exists and its text satisfies `accept`, returning the text. */
export function waitForFileText(
  path: string,
  accept: (text: string) => boolean,
  what: string,
): Promise<string> {
  return waitUntil(() => {
    try {
      const text = readFileSync(path, "utf8");
      return accept(text) ? text : undefined;
    } catch {
      return undefined;
    }
  }, what);
}

/** Kills (SIGKILL) and deletes a task, then deletes its container; for test-local cleanup that must not throw. */
export async function removeContainer(containerd: Containerd, id: string): Promise<void> {
  await containerd.ctr(["tasks", "kill", "-s", "SIGKILL", id]);
  await containerd.ctr(["tasks", "delete", "-f", id]);
  await containerd.ctr(["containers", "delete", id]);
}

/** How {@link runDetached} starts a task. */
export interface DetachedRun {
  /** `--runtime` value: a runtime name or an absolute shim path. */
  readonly runtime: string;
  /** `--label k=v` each (ctr also copies them into the spec's annotations). */
  readonly labels?: readonly string[];
  /** Other `ctr run` flags, e.g. `["--memory-limit", "67108864"]` or `["--runtime-config-path", path]`. */
  readonly flags?: readonly string[];
  /** The command; default `/bin/sleep 100000`. */
  readonly args?: readonly string[];
}

/** `ctr run -d` from the busybox rootfs, then waits until the task runs. */
export async function runDetached(containerd: Containerd, id: string, run: DetachedRun): Promise<TaskRow> {
  await containerd.ctrOk([
    "run",
    "-d",
    "--runtime",
    run.runtime,
    ...(run.labels ?? []).flatMap((label) => ["--label", label]),
    ...(run.flags ?? []),
    "--rootfs",
    containerd.rootfs(),
    id,
    ...(run.args ?? ["/bin/sleep", "100000"]),
  ]);
  return waitForTaskStatus(containerd, id, "RUNNING");
}

/**
 * SIGKILL a running task, wait for its `/tasks/exit` event, delete the task and the container — the normal teardown,
 * where every step must succeed (unlike {@link removeContainer}).
 */
export async function killAndDelete(containerd: Containerd, events: EventStream, id: string): Promise<void> {
  await containerd.ctrOk(["tasks", "kill", "-s", "SIGKILL", id]);
  await events.waitFor((e) => e.topic === "/tasks/exit" && stringField(e, "container_id") === id);
  await containerd.ctrOk(["tasks", "delete", id]);
  await containerd.ctrOk(["containers", "delete", id]);
}
