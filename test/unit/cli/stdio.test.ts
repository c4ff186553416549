/**
 * The CLI's FIFO plumbing against real FIFOs, with this test playing the daemon's side; and the signal forwarder with
 * real signals sent to this process. No daemon, no reaper.
 */
import assert from "node:assert/strict";
import { closeSync, existsSync, constants as fsc, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { Socket } from "node:net";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { createSignalForwarder } from "../../../src/cli/signals.js";
import { fileStdio, openProcessStdio } from "../../../src/cli/stdio.js";

function collect(stream: PassThrough): () => string {
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  return () => text;
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "husk-cli-stdio-"));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Resolves with everything read from a FIFO until EOF (opened without blocking, like the daemon's reader). */
function readFifo(path: string): Promise<string> {
  const fd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  const socket = new Socket({ fd, readable: true, writable: false });
  let text = "";
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    socket.once("end", () => {
      resolve(text);
    });
    socket.once("error", reject);
  });
}

describe("cli stdio over FIFOs", () => {
  it("makes stdout/stderr FIFOs, copies each to its own stream and reports EOF once the writers close", async (t) => {
    const dir = tempDir(t);
    const output = new PassThrough();
    const errorOutput = new PassThrough();
    const out = collect(output);
    const err = collect(errorOutput);
    const stdio = openProcessStdio({ dir, prefix: "", stdin: false, terminal: false, output, errorOutput });
    t.after(() => {
      stdio.close();
    });
    assert.deepEqual(stdio.request, {
      stdin: "",
      stdout: join(dir, "stdout"),
      stderr: join(dir, "stderr"),
      terminal: false,
    });
    // The daemon's side: a writer opened without blocking succeeds only because our reader is already open.
    const stdoutWriter = openSync(stdio.request.stdout, fsc.O_WRONLY | fsc.O_NONBLOCK);
    const stderrWriter = openSync(stdio.request.stderr, fsc.O_WRONLY | fsc.O_NONBLOCK);
    writeSync(stdoutWriter, "out\n");
    writeSync(stderrWriter, "err\n");
    closeSync(stdoutWriter);
    closeSync(stderrWriter);
    // Nothing is copied before startOutput (the runtime's own error output is not the container's).
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(out(), "");
    stdio.startOutput();
    assert.equal(await stdio.drained(10_000), true);
    assert.equal(out(), "out\n");
    assert.equal(err(), "err\n");
  });

  it("answers false from drained when a writer stays open past the timeout", async (t) => {
    const dir = tempDir(t);
    const stdio = openProcessStdio({
      dir,
      prefix: "e1-",
      stdin: false,
      terminal: true,
      output: new PassThrough(),
      errorOutput: new PassThrough(),
    });
    const writer = openSync(stdio.request.stdout, fsc.O_WRONLY | fsc.O_NONBLOCK);
    t.after(() => {
      closeSync(writer);
      stdio.close();
    });
    assert.equal(stdio.request.stderr, "", "a terminal has no stderr FIFO");
    assert.equal(stdio.request.stdout, join(dir, "e1-stdout"));
    stdio.startOutput();
    assert.equal(await stdio.drained(50), false);
  });

  it("copies our input into the stdin FIFO and calls closeIO only after our writer closed", async (t) => {
    const dir = tempDir(t);
    const input = new PassThrough();
    const stdio = openProcessStdio({
      dir,
      prefix: "x-",
      stdin: true,
      terminal: false,
      input,
      output: new PassThrough(),
      errorOutput: new PassThrough(),
    });
    t.after(() => {
      stdio.close();
    });
    assert.equal(stdio.request.stdin, join(dir, "x-stdin"));
    // Our writer was opened O_RDWR: the FIFO has a writer, so this reader sees EOF only when we close it.
    const received = readFifo(stdio.request.stdin);
    const closeIO = new Promise<void>((resolve) => {
      stdio.startInput(() => {
        resolve();
        return Promise.resolve();
      });
    });
    input.write("da");
    input.end("ta\n");
    assert.equal(await received, "data\n");
    await closeIO;
  });

  it("removes its FIFOs on close and is idempotent", (t) => {
    const dir = tempDir(t);
    const stdio = openProcessStdio({
      dir,
      prefix: "",
      stdin: true,
      terminal: false,
      input: new PassThrough(),
      output: new PassThrough(),
      errorOutput: new PassThrough(),
    });
    for (const path of [stdio.request.stdin, stdio.request.stdout, stdio.request.stderr])
      assert.ok(existsSync(path));
    stdio.close();
    stdio.close();
    for (const path of [stdio.request.stdin, stdio.request.stdout, stdio.request.stderr]) {
      assert.equal(existsSync(path), false, path);
    }
  });

  it("fails cleanly when the directory does not exist", () => {
    assert.throws(() =>
      openProcessStdio({ dir: "/nonexistent/husk-dir", prefix: "", stdin: false, terminal: false }),
    );
  });

  it("sends detached output to one file URL", () => {
    assert.deepEqual(fileStdio("/b/output.log", false), {
      stdin: "",
      stdout: "file:///b/output.log",
      stderr: "file:///b/output.log",
      terminal: false,
    });
  });
});

describe("cli signal forwarding", () => {
  it("queues signals until attached, then delivers them in order; stop restores the defaults", async () => {
    const forwarder = createSignalForwarder();
    // Signal handlers do not keep the event loop alive; this timer does, and bounds the wait.
    const guard = setTimeout(() => {
      assert.fail("signals did not arrive within 10 s");
    }, 10_000);
    try {
      // A listener of our own tells when the second signal has arrived (pending signals are delivered lowest first).
      const arrived = new Promise((resolve) => process.once("SIGUSR2", resolve));
      process.kill(process.pid, "SIGUSR1");
      process.kill(process.pid, "SIGUSR2");
      await arrived;
      const delivered: number[] = [];
      const done = new Promise<void>((resolve) => {
        forwarder.attach((signal) => {
          delivered.push(signal);
          if (delivered.length === 3) resolve();
          return Promise.resolve();
        });
      });
      process.kill(process.pid, "SIGHUP");
      await done;
      assert.deepEqual(delivered, [
        constants.signals.SIGUSR1,
        constants.signals.SIGUSR2,
        constants.signals.SIGHUP,
      ]);
    } finally {
      clearTimeout(guard);
      forwarder.stop();
    }
    assert.equal(process.listenerCount("SIGHUP"), 0);
    assert.equal(process.listenerCount("SIGINT"), 0);
  });
});
