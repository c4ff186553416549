// Does not start the reaper.
import assert from "node:assert/strict";
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import {
  dup,
  isChildSubreaper,
  isFifo,
  mkfifo,
  peerCredentials,
  pipe,
  setPipeSize,
  setWinsize,
  socketPair,
} from "../../../src/sys/index.js";
import { openFdCount } from "./helpers.js";

let scratch = "";
let fdsBefore = 0;

before(() => {
  scratch = mkdtempSync(join(tmpdir(), "husk-fd-"));
  fdsBefore = openFdCount();
});

after(() => {
  rmSync(scratch, { recursive: true, force: true });
  assert.equal(openFdCount(), fdsBefore, "fd count after the tests equals the count before");
});

describe("fd helpers", () => {
  it("pipe gives a real close-on-exec pipe", () => {
    const [r, w] = pipe();
    try {
      assert.ok(isFifo(r) && isFifo(w));
      assert.equal(fstatSync(r).ino, fstatSync(w).ino);
      assert.equal(writeSync(w, "abc"), 3);
      const buffer = Buffer.alloc(3);
      assert.equal(readSync(r, buffer, 0, 3, null), 3);
      assert.equal(buffer.toString(), "abc");
      // FD_CLOEXEC shows in /proc/self/fdinfo as bit 02000000 of flags.
      for (const fd of [r, w]) {
        const flags = /flags:\s+(\d+)/.exec(readFdinfo(fd))?.[1] ?? "0";
        assert.ok((Number.parseInt(flags, 8) & 0o2000000) !== 0, `fd ${fd} is O_CLOEXEC`);
      }
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });

  it("setPipeSize grows the pipe buffer and dup duplicates", () => {
    const [r, w] = pipe();
    const copy = dup(w);
    try {
      assert.ok(copy !== w);
      assert.equal(fstatSync(copy).ino, fstatSync(w).ino);
      assert.ok(setPipeSize(w, 1024 * 1024) >= 1024 * 1024);
      // 1 MiB fits without a reader now.
      assert.equal(writeSync(copy, Buffer.alloc(1024 * 1024)), 1024 * 1024);
    } finally {
      closeSync(r);
      closeSync(w);
      closeSync(copy);
    }
  });

  it("mkfifo creates a named pipe", () => {
    const path = join(scratch, "fifo");
    mkfifo(path, 0o600);
    assert.ok(statSync(path).isFIFO());
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const fd = openSync(path, "r+");
    try {
      assert.ok(isFifo(fd));
    } finally {
      closeSync(fd);
    }
    assert.throws(
      () => {
        mkfifo(path);
      },
      (e: unknown) => isHuskError(e) && e.code === Code.AlreadyExists,
    );
  });

  it("setWinsize on something that is not a tty fails with a typed error", () => {
    const [r, w] = pipe();
    try {
      assert.throws(
        () => {
          setWinsize(r, 24, 80);
        },
        (e: unknown) => isHuskError(e) && (e.cause as { code?: string }).code === "ENOTTY",
      );
      assert.throws(
        () => {
          setWinsize(r, 70_000, 80);
        },
        (e: unknown) => isHuskError(e) && e.code === Code.InvalidArgument,
      );
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });

  it("this process is not a subreaper unless the reaper runs", () => {
    assert.equal(isChildSubreaper(), false);
  });
});

describe("peerCredentials", () => {
  it("gives our pid/uid/gid on a socket pair", () => {
    const [a, b] = socketPair();
    try {
      assert.deepEqual(peerCredentials(a), {
        pid: process.pid,
        uid: process.getuid?.(),
        gid: process.getgid?.(),
      });
      assert.deepEqual(peerCredentials(b), peerCredentials(a));
    } finally {
      closeSync(a);
      closeSync(b);
    }
  });

  it("gives our credentials on a connected unix socket from net", async () => {
    const path = join(scratch, "peer.sock");
    const server: Server = createServer();
    const accepted = new Promise<Socket>((resolve) => {
      server.once("connection", resolve);
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const client = createConnection(path);
    try {
      const conn = await accepted;
      const fd = (conn as unknown as { _handle: { fd: number } })._handle.fd;
      assert.equal(peerCredentials(fd).pid, process.pid);
      conn.destroy();
    } finally {
      client.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }
  });

  it("fails with a typed error on a non-socket", () => {
    const [r, w] = pipe();
    try {
      assert.throws(
        () => peerCredentials(r),
        (e: unknown) => isHuskError(e) && (e.cause as { code?: string }).code === "ENOTSOCK",
      );
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });
});

function readFdinfo(fd: number): string {
  const path = `/proc/self/fdinfo/${fd}`;
  const fdinfo = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(4096);
    return buffer.subarray(0, readSync(fdinfo, buffer, 0, buffer.length, null)).toString();
  } finally {
    closeSync(fdinfo);
  }
}
