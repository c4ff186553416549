/**
 * A private place for library integration tests: a temp dir with a busybox rootfs, bundles, a Supervisor whose state
 * and runtime roots live inside it, and the checks every test file ends with — no zombie child, no runtime container
 * left, no fd leaked. Uses husk's own reaper (never node:child_process: a file that loads this owns its children).
 */
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { LifecycleEvent } from "../../src/container/index.js";
import {
  type CreateOptions,
  createSupervisor,
  type Supervisor,
  type SupervisorOptions,
} from "../../src/container/index.js";
import { type SpecOptions, writeBundle } from "../../src/oci/index.js";
import { pipe, runCommand } from "../../src/sys/index.js";
import { makeRootfs } from "./make-rootfs.js";
import { within } from "./within.js";

export { within };

export interface Lab {
  readonly dir: string;
  readonly rootfs: string;
  readonly runtimeRoot: string;
  readonly supervisor: Supervisor;
  /** Every event published since the lab opened. */
  readonly events: LifecycleEvent[];
  /** Writes a bundle (rootfs shared) and returns its directory. */
  bundle(name: string, options: Omit<SpecOptions, "rootfs"> & { rootfs?: string }): Promise<string>;
  /** A unique container id for this lab. */
  id(name: string): string;
  /** Shorthand: bundle + create with the given stdio. */
  create(
    name: string,
    spec: Omit<SpecOptions, "rootfs">,
    options?: Partial<CreateOptions>,
  ): ReturnType<Supervisor["create"]>;
  /** Deletes everything, then asserts: no runtime container, no zombie child, no fd leaked, temp dir removed. */
  close(): Promise<void>;
}

export interface LabOptions {
  readonly runtime?: SupervisorOptions["runtime"];
}

let labs = 0;

export function openLab(options: LabOptions = {}): Promise<Lab> {
  // libuv opens /dev/null once, on the first stream of the process (its EMFILE reserve fd): not ours to count.
  const [warmRead, warmWrite] = pipe();
  new Socket({ fd: warmRead, readable: true, writable: false }).destroy();
  closeSync(warmWrite);
  const fdsBefore = openFds();
  const dir = mkdtempSync(join(tmpdir(), "husk-lab-"));
  const rootfs = makeRootfs(join(dir, "rootfs"));
  const runtimeRoot = join(dir, "runtime");
  const prefix = `lab${process.pid}x${labs++}`;
  const supervisor = createSupervisor({
    stateDir: join(dir, "state"),
    runtime: { root: runtimeRoot, ...options.runtime },
  });
  const events: LifecycleEvent[] = [];
  const unsubscribe = supervisor.subscribe((event) => events.push(event));
  let bundles = 0;
  const lab: Lab = {
    dir,
    rootfs,
    runtimeRoot,
    supervisor,
    events,
    id: (name) => `${prefix}-${name}`,
    async bundle(name, spec) {
      const bundleDir = join(dir, "bundles", `${name}-${bundles++}`);
      await writeBundle(bundleDir, { rootfs, ...spec });
      return bundleDir;
    },
    async create(name, spec, createOptions = {}) {
      const bundle = await lab.bundle(name, spec);
      return supervisor.create({ id: lab.id(name), bundle, ...createOptions });
    },
    async close() {
      await supervisor.close();
      unsubscribe();
      const binary = options.runtime?.binary ?? "runc";
      const left = await runCommand(binary, ["--root", runtimeRoot, "list", "-q"]);
      rmSync(dir, { recursive: true, force: true });
      assert.equal(left.stdout.toString().trim(), "", `runtime containers left under ${runtimeRoot}`);
      assert.deepEqual(zombieChildren(), [], "zombie children left");
      assert.deepEqual(
        openFds().filter((fd) => !fdsBefore.includes(fd)),
        [],
        "fds leaked",
      );
    },
  };
  return Promise.resolve(lab);
}

/** Our direct children that are zombies (a reaper that missed an exit). */
export function zombieChildren(): number[] {
  const zombies: number[] = [];
  for (const pid of childPids()) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state === "Z") zombies.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return zombies;
}

function childPids(): number[] {
  const pids: number[] = [];
  for (const task of readdirSync("/proc/self/task")) {
    try {
      const text = readFileSync(`/proc/self/task/${task}/children`, "utf8").trim();
      if (text !== "") pids.push(...text.split(/\s+/).map(Number));
    } catch {
      // thread gone
    }
  }
  return pids;
}

/** Our open fds, described by what they point to (stable across reuse of numbers). */
export function openFds(): string[] {
  return readdirSync("/proc/self/fd").flatMap((fd) => {
    try {
      return [`${fd}:${readlinkSync(`/proc/self/fd/${fd}`)}`];
    } catch {
      return []; // the fd readdir itself used
    }
  });
}

/** Reads a stream to its end. */
export async function readAll(stream: Readable | undefined): Promise<Buffer> {
  if (stream === undefined) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Resolves when `predicate` holds for one of `events` (checked on every new event), or rejects after `timeoutMs`. */
export async function waitForEvent(
  lab: Lab,
  predicate: (event: LifecycleEvent) => boolean,
  timeoutMs = 20_000,
): Promise<LifecycleEvent> {
  const found = lab.events.find(predicate);
  if (found !== undefined) return found;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(
        new Error(
          `no matching event within ${timeoutMs} ms; saw ${JSON.stringify(lab.events.map((e) => e.type))}`,
        ),
      );
    }, timeoutMs);
    const stop = lab.supervisor.subscribe((event) => {
      if (!predicate(event)) return;
      clearTimeout(timer);
      stop();
      resolve(event);
    });
  });
}

/** One consumer of a stream that keeps everything it read: `text()`, `until(substring)`, `ended`. */
export interface Capture {
  readonly ended: Promise<Buffer>;
  text(): string;
  until(substring: string, timeoutMs?: number): Promise<void>;
}

export function capture(stream: Readable | undefined): Capture {
  const chunks: Buffer[] = [];
  const waiters: { substring: string; resolve: () => void }[] = [];
  const text = (): string => Buffer.concat(chunks).toString();
  const ended = new Promise<Buffer>((resolve, reject) => {
    if (stream === undefined) {
      resolve(Buffer.alloc(0));
      return;
    }
    stream.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      const now = text();
      for (const waiter of waiters.filter((w) => now.includes(w.substring))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
    // 'end' when the writer closed; 'close' alone when husk closed the process's IO itself.
    stream.once("end", () => {
      resolve(Buffer.concat(chunks));
    });
    stream.once("close", () => {
      resolve(Buffer.concat(chunks));
    });
    stream.once("error", reject);
  });
  return {
    ended,
    text,
    until(substring, timeoutMs = 20_000) {
      if (text().includes(substring)) return Promise.resolve();
      return within(
        new Promise<void>((resolve) => waiters.push({ substring, resolve })),
        timeoutMs,
        `output "${substring}" (seen ${JSON.stringify(text())})`,
      );
    },
  };
}
