/**
 * Cleanup helpers for tests that create containers with a real OCI runtime under a private `--root`.
 * They never touch containers outside that root, and delete by id (never by process name).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** How {@link forceDeleteAll} runs the runtime. */
export interface CleanupOptions {
  /** Extra global flags (before the subcommand). */
  readonly globalArgs?: readonly string[];
  /**
   * "reaper" (default) runs through husk's `sys.runCommand` — required in test files that started the
   * reaper. "child_process" uses `node:child_process` — only for test files that never load the reaper.
   */
  readonly runner?: "reaper" | "child_process";
}

interface Result {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(binary: string, args: readonly string[], options: CleanupOptions): Promise<Result> {
  if (options.runner === "child_process") {
    const { spawnSync } = await import("node:child_process");
    const result = spawnSync(binary, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return { status: result.status ?? 128, stdout: result.stdout, stderr: result.stderr };
  }
  // Loaded lazily so that importing this module never starts the reaper.
  const { runCommand } = await import("../../src/sys/index.js");
  const result = await runCommand(binary, args);
  return {
    status: result.status,
    stdout: result.stdout.toString("utf8"),
    stderr: result.stderr.toString("utf8"),
  };
}

/** Container ids that have state under `root` (a directory per container, as runc and crun keep them). */
export function containerIdsUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((name) => statSync(join(root, name)).isDirectory());
}

/**
 * Deletes every container under `root` with `delete --force` (which kills them first). Ids come from
 * `list --format json` and from the root directory itself (so half-created ones go too). Returns the
 * ids it tried; errors are collected and thrown together at the end.
 */
export async function forceDeleteAll(
  binary: string,
  root: string,
  options: CleanupOptions = {},
): Promise<string[]> {
  if (!existsSync(root)) return [];
  const global = ["--root", root, ...(options.globalArgs ?? [])];
  const ids = new Set(containerIdsUnder(root));
  const listed = await run(binary, [...global, "list", "--format", "json"], options);
  if (listed.status === 0 && listed.stdout.trim() !== "" && listed.stdout.trim() !== "null") {
    for (const entry of JSON.parse(listed.stdout) as { id: string }[]) ids.add(entry.id);
  }
  const failures: string[] = [];
  for (const id of ids) {
    const result = await run(binary, [...global, "delete", "--force", id], options);
    if (result.status !== 0 && existsSync(join(root, id))) failures.push(`${id}: ${result.stderr.trim()}`);
  }
  if (failures.length > 0)
    throw new Error(`could not delete containers under ${root}: ${failures.join("; ")}`);
  return [...ids];
}

/** Fails when any container state is left under `root`. */
export function assertNoContainers(root: string): void {
  assert.deepEqual(containerIdsUnder(root), [], `containers left under ${root}`);
}
