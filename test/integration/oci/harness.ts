/**
 * Shared set-up for integration tests that run real containers: a temp dir with a busybox rootfs, a
 * private runtime root, unique container ids, pipes for the container's stdio, and cleanup that
 * force-deletes every container under the root. Files using this load the reaper: they must not use
 * node:child_process.
 */
import { closeSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createOciRuntime,
  type OciRuntime,
  type OciRuntimeOptions,
  type SpecOptions,
  writeBundle,
} from "../../../src/oci/index.js";
import { type ExitStatus, getReaper, pipe } from "../../../src/sys/index.js";
import { makeRootfs } from "../../support/make-rootfs.js";
import { assertNoContainers, forceDeleteAll } from "../../support/runtime-cleanup.js";
import { within as withTimeout } from "../../support/within.js";

export { withTimeout };

/** Collects everything written to the read end of a pipe until EOF. Owns (and closes) the fd. */
export class PipeReader {
  #text = "";
  readonly #socket: Socket;
  readonly #listeners = new Set<() => void>();
  /** Resolves with all the text once the last writer has closed the pipe. */
  readonly ended: Promise<string>;

  constructor(fd: number) {
    this.#socket = new Socket({ fd, readable: true, writable: false });
    this.#socket.setEncoding("utf8");
    this.#socket.on("data", (chunk: string) => {
      this.#text += chunk;
      for (const listener of this.#listeners) listener();
    });
    this.#socket.on("error", () => this.#socket.destroy());
    this.ended = new Promise<string>((resolve) => {
      this.#socket.on("close", () => {
        resolve(this.#text);
      });
    });
  }

  get text(): string {
    return this.#text;
  }

  /** Resolves once `needle` has arrived (rejects after `ms`). */
  async waitFor(needle: string, ms: number): Promise<string> {
    if (this.#text.includes(needle)) return this.#text;
    let listener: (() => void) | undefined;
    const arrived = new Promise<string>((resolve) => {
      listener = () => {
        if (this.#text.includes(needle)) resolve(this.#text);
      };
      this.#listeners.add(listener);
    });
    try {
      return await withTimeout(
        arrived,
        ms,
        `${JSON.stringify(needle)} on the container's output (got ${JSON.stringify(this.#text)})`,
      );
    } finally {
      if (listener !== undefined) this.#listeners.delete(listener);
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** A pipe whose write end goes to a container and whose read end we read. */
export interface OutputPipe {
  /** Give this to the runtime as stdout/stderr; close it with {@link OutputPipe.closeWriteEnd} after the call. */
  readonly writeFd: number;
  readonly reader: PipeReader;
  closeWriteEnd(): void;
}

/** Opens a real pipe (sys.pipe) and starts reading it. */
export function outputPipe(): OutputPipe {
  const [readFd, writeFd] = pipe();
  let open = true;
  return {
    writeFd,
    reader: new PipeReader(readFd),
    closeWriteEnd() {
      if (open) closeSync(writeFd);
      open = false;
    },
  };
}

/** A started (or created) test container. */
export interface TestContainer {
  readonly id: string;
  readonly pid: number;
  readonly bundle: string;
  readonly logFile: string;
  /** The init's exit, from the reaper (captured from before `create`, so it cannot be missed). */
  readonly exit: Promise<ExitStatus>;
  /** The init's stdout+stderr. */
  readonly output: PipeReader;
}

/** Everything one test file needs to run containers with one runtime. */
export class Harness {
  readonly dir: string;
  readonly rootfs: string;
  readonly root: string;
  readonly runtime: OciRuntime;
  readonly binary: string;
  #counter = 0;
  readonly #readers: PipeReader[] = [];

  constructor(prefix: string, options: Partial<OciRuntimeOptions> & { dir?: string } = {}) {
    getReaper(); // become the subreaper before any container exists
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), `husk-it-${prefix}-`));
    try {
      this.rootfs = makeRootfs(join(this.dir, "rootfs"));
      this.root = join(this.dir, "state");
      mkdirSync(this.root, { recursive: true });
    } catch (error) {
      rmSync(this.dir, { recursive: true, force: true });
      throw error;
    }
    this.binary = options.binary ?? "runc";
    this.runtime = createOciRuntime({ ...options, binary: this.binary, root: this.root });
  }

  /** A container id unique on this machine (several test files run at once). */
  nextId(name: string): string {
    this.#counter += 1;
    return `${name}-${process.pid}-${this.#counter}`;
  }

  /** Writes a bundle for `id` using the shared rootfs in place. */
  async bundle(id: string, options: Omit<SpecOptions, "rootfs">): Promise<string> {
    const bundle = await writeBundle(join(this.dir, "bundles", id), { ...options, rootfs: this.rootfs });
    return bundle.dir;
  }

  /**
   * Creates a container whose stdout and stderr go to one pipe we read; opens a reaper capture
   * before `create` so the init's exit is never lost. Does not start it.
   */
  async create(name: string, spec: Omit<SpecOptions, "rootfs">): Promise<TestContainer> {
    const id = this.nextId(name);
    const bundle = await this.bundle(id, spec);
    const out = outputPipe();
    this.#readers.push(out.reader);
    const logFile = join(bundle, "log.json");
    const capture = getReaper().capture();
    try {
      const pid = await this.runtime.create(id, {
        bundle,
        pidFile: join(bundle, "init.pid"),
        logFile,
        stdio: { stdin: "null", stdout: out.writeFd, stderr: out.writeFd },
      });
      return { id, pid, bundle, logFile, exit: capture.waitFor(pid), output: out.reader };
    } finally {
      out.closeWriteEnd();
      capture.close();
    }
  }

  /** Creates and starts a container. */
  async run(name: string, spec: Omit<SpecOptions, "rootfs">): Promise<TestContainer> {
    const container = await this.create(name, spec);
    await this.runtime.start(container.id, { logFile: container.logFile });
    return container;
  }

  /** Force-deletes every container under the root, checks none is left, removes the temp dir. */
  async cleanup(globalArgs: readonly string[] = []): Promise<void> {
    try {
      await forceDeleteAll(this.binary, this.root, { globalArgs });
      assertNoContainers(this.root);
    } finally {
      for (const reader of this.#readers) reader.close();
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
