/**
 * Helpers for the src/sys tests. Importing this file does not start the reaper.
 */
import { readdirSync, readFileSync } from "node:fs";
import { within as withTimeout } from "../../support/within.js";

export { withTimeout };

/** Number of open fds of this process. */
export function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Our children (from every thread's children list) with their /proc state letter. */
export function childrenOfSelf(): { pid: number; state: string }[] {
  const pids = new Set<number>();
  for (const task of readdirSync("/proc/self/task")) {
    let text: string;
    try {
      text = readFileSync(`/proc/self/task/${task}/children`, "utf8");
    } catch {
      continue; // thread gone
    }
    for (const word of text.split(/\s+/)) if (word !== "") pids.add(Number(word));
  }
  const out: { pid: number; state: string }[] = [];
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The state follows the parenthesised command, which may itself contain spaces or parentheses.
      out.push({ pid, state: stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Resolves when `predicate` holds, polling every 10 ms; rejects after `ms`. */
export async function eventually(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Parses `find /proc/<pid>/fd -mindepth 1 -printf '%f %l\n'` output into fd → link target. */
export function parseFdListing(text: string): Map<number, string> {
  const map = new Map<number, string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const space = line.indexOf(" ");
    map.set(Number(line.slice(0, space)), line.slice(space + 1));
  }
  return map;
}
