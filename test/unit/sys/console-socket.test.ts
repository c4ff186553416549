// Starts the reaper (spawns a python peer): this file is its own process.
import assert from "node:assert/strict";
import { closeSync, existsSync, readlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname } from "node:path";
import { after, before, describe, it } from "node:test";
import { ReadStream } from "node:tty";
import { Code, isHuskError } from "../../../src/errors.js";
import {
  type Child,
  createConsoleSocket,
  getReaper,
  getWinsize,
  setWinsize,
  spawn,
} from "../../../src/sys/index.js";
import { childrenOfSelf, openFdCount, withTimeout } from "./helpers.js";

const TIMEOUT_MS = 20_000;
let fdsBefore = 0;

before(async () => {
  getReaper();
  // Warm up the thread pool and the loop's async handle once, then count.
  const socket = await createConsoleSocket();
  await assert.rejects(socket.receive(1));
  await socket.close();
  fdsBefore = openFdCount();
});

after(() => {
  assert.equal(openFdCount(), fdsBefore, "fd count after the tests equals the count before");
  assert.deepEqual(
    childrenOfSelf().filter((c) => c.state === "Z"),
    [],
  );
});

// Plays runc's part: opens a pty, sends the master with SCM_RIGHTS, then talks on the slave side.
const PTY_PEER = `
import os, socket, subprocess, sys
master, slave = os.openpty()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
socket.send_fds(s, [b"/dev/ptmx"], [master])
s.close()
os.close(master)
line = os.read(slave, 100).strip()
os.write(slave, b"peer got " + line + b"\\n")
subprocess.run(["stty", "size"], stdin=slave, stdout=slave, check=True)
os.write(slave, b"bye\\n")
os.close(slave)
`;

// Sends a message without any fd, or with two fds.
const BAD_PEER = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
if sys.argv[2] == "none":
    s.send(b"/dev/ptmx")
else:
    r, w = os.pipe()
    socket.send_fds(s, [b"x"], [r, w])
s.close()
`;

function peer(script: string, ...args: string[]): Child {
  return spawn({ file: "python3", args: ["-c", script, ...args], fds: ["null", "null", 2] });
}

/** Reads a pty master until `pattern` matches the accumulated text; the stream owns and closes fd. */
function readUntil(fd: number, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const stream = new ReadStream(fd);
    let text = "";
    const finish = (error?: Error): void => {
      stream.destroy();
      if (error === undefined) resolve(text);
      else reject(error);
    };
    stream.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (pattern.test(text)) finish();
    });
    // EIO once the slave side is closed means EOF on a pty master.
    stream.on("error", () => {
      finish(new Error(`pty closed before ${String(pattern)} in ${JSON.stringify(text)}`));
    });
    stream.on("end", () => {
      finish(new Error(`pty ended before ${String(pattern)} in ${JSON.stringify(text)}`));
    });
  });
}

describe("console socket", () => {
  it("receives a pty master from a peer, which works and can be resized", async () => {
    const socket = await createConsoleSocket();
    let child: Child | undefined;
    let master: number | undefined;
    try {
      assert.ok(Buffer.byteLength(socket.path) <= 107);
      const receiving = socket.receive(TIMEOUT_MS);
      child = peer(PTY_PEER, socket.path);
      const { fd, name } = await withTimeout(receiving, TIMEOUT_MS, "console fd");
      master = fd;
      assert.equal(name, "/dev/ptmx");
      assert.match(readlinkSync(`/proc/self/fd/${fd}`), /^\/dev\/(pts\/)?ptmx$/);
      setWinsize(fd, 30, 100);
      assert.deepEqual(getWinsize(fd), { rows: 30, cols: 100 });
      master = undefined; // the stream owns it now
      const output = readUntil(fd, /bye/);
      writeSync(fd, "ping\n");
      const text = await withTimeout(output, TIMEOUT_MS, "pty output");
      assert.match(text, /peer got ping\r\n/);
      assert.match(text, /30 100\r\n/);
      assert.equal((await withTimeout(child.exit, TIMEOUT_MS, "peer exit")).status, 0);
    } finally {
      if (master !== undefined) closeSync(master);
      child?.kill("SIGKILL");
      await child?.exit;
      await socket.close();
    }
    assert.ok(!existsSync(dirname(socket.path)), "close removes the socket's directory");
  });

  it("rejects with DeadlineExceeded when nobody sends in time", async () => {
    const socket = await createConsoleSocket(tmpdir());
    try {
      await assert.rejects(
        socket.receive(50),
        (e: unknown) => isHuskError(e) && e.code === Code.DeadlineExceeded,
      );
    } finally {
      await socket.close();
      await socket.close(); // idempotent
    }
  });

  it("rejects a message without exactly one fd with InvalidArgument", async () => {
    for (const mode of ["none", "two"]) {
      const socket = await createConsoleSocket();
      try {
        const receiving = socket.receive(TIMEOUT_MS);
        const child = peer(BAD_PEER, socket.path, mode);
        await assert.rejects(
          withTimeout(receiving, TIMEOUT_MS, "rejection"),
          (e: unknown) => isHuskError(e) && e.code === Code.InvalidArgument,
        );
        assert.equal((await withTimeout(child.exit, TIMEOUT_MS, "peer exit")).status, 0);
      } finally {
        await socket.close();
      }
    }
  });

  it("cancels a pending receive on close", async () => {
    const socket = await createConsoleSocket();
    const receiving = socket.receive(TIMEOUT_MS);
    await socket.close();
    await assert.rejects(receiving, (e: unknown) => isHuskError(e) && e.code === Code.Canceled);
    await assert.rejects(
      socket.receive(10),
      (e: unknown) => isHuskError(e) && e.code === Code.FailedPrecondition,
    );
  });

  it("refuses a path longer than 107 bytes", async () => {
    const deep = `${tmpdir()}/${"d".repeat(120)}`;
    await assert.rejects(createConsoleSocket(deep), (e: unknown) => isHuskError(e));
  });
});
