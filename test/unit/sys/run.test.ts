// Starts the reaper: this file is its own process.
import assert from "node:assert/strict";
import { closeSync, readSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import { getReaper, pipe, runCommand } from "../../../src/sys/index.js";
import { childrenOfSelf, eventually, openFdCount } from "./helpers.js";

const TIMEOUT_MS = 20_000;
let fdsBefore = 0;

before(async () => {
  await runCommand("/bin/true", []);
  fdsBefore = openFdCount();
});

after(() => {
  assert.equal(openFdCount(), fdsBefore, "fd count after the tests equals the count before");
  assert.deepEqual(
    childrenOfSelf().filter((c) => c.state === "Z"),
    [],
  );
});

describe("runCommand", () => {
  it("captures stdout and stderr exactly, beyond 1 MiB", async () => {
    // 3 MiB of a repeating pattern on stdout, a short line on stderr.
    const res = await runCommand("/bin/sh", [
      "-c",
      "head -c 3145728 /dev/zero | tr '\\0' 'x'; echo done >&2",
    ]);
    assert.equal(res.status, 0);
    assert.equal(res.signal, undefined);
    assert.equal(res.stdout.length, 3 * 1024 * 1024);
    assert.ok(res.stdout.every((b) => b === 0x78));
    assert.equal(res.stderr.toString(), "done\n");
    assert.ok(res.pid > 0);
  });

  it("writes input to stdin and closes it", async () => {
    const input = Buffer.alloc(200_000, "ab");
    const res = await runCommand("/bin/sh", ["-c", "wc -c; cat >/dev/null"], { input });
    assert.equal(res.stdout.toString().trim(), "200000");
    const text = await runCommand("cat", [], { input: "héllo\n" });
    assert.equal(text.stdout.toString(), "héllo\n");
  });

  it("resolves on a non-zero exit and on a signal", async () => {
    const res = await runCommand("/bin/sh", ["-c", "echo partial; exit 3"]);
    assert.equal(res.status, 3);
    assert.equal(res.stdout.toString(), "partial\n");
    const killed = await runCommand("/bin/sh", ["-c", "kill -TERM $$"]);
    assert.equal(killed.status, 143);
    assert.equal(killed.signal, 15);
  });

  it("defaults stdin to /dev/null and passes given fds through without capturing", async () => {
    const res = await runCommand("/bin/sh", ["-c", "readlink /proc/$$/fd/0; cat"]);
    assert.equal(res.stdout.toString(), "/dev/null\n");

    const [r, w] = pipe();
    try {
      const passed = await runCommand("/bin/sh", ["-c", "echo to-fd; echo to-err >&2"], {
        stdout: w,
        stderr: "null",
      });
      assert.equal(passed.stdout.length, 0);
      assert.equal(passed.stderr.length, 0);
      const buffer = Buffer.alloc(100);
      const n = readSync(r, buffer, 0, buffer.length, null);
      assert.equal(buffer.subarray(0, n).toString(), "to-fd\n");
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });

  it("waits for exit only, not EOF, when the streams go to given fds held by a grandchild", async () => {
    const [r, w] = pipe();
    try {
      // The background sleep keeps the pipe open long after sh exits.
      const res = await runCommand("/bin/sh", ["-c", "sleep 30 & echo $!"], { stdout: w, stderr: "null" });
      assert.equal(res.status, 0);
      const buffer = Buffer.alloc(100);
      const sleeper = Number(
        buffer
          .subarray(0, readSync(r, buffer, 0, buffer.length, null))
          .toString()
          .trim(),
      );
      assert.ok(
        childrenOfSelf().some((c) => c.pid === sleeper && c.state !== "Z"),
        "the grandchild still runs (and holds the pipe) when runCommand resolved",
      );
      process.kill(sleeper, "SIGKILL");
      await eventually(
        () => !childrenOfSelf().some((c) => c.pid === sleeper),
        TIMEOUT_MS,
        "grandchild reaped",
      );
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });

  it("kills the child and rejects with the abort reason", async () => {
    const controller = new AbortController();
    const pending = runCommand("sleep", ["30"], { signal: controller.signal });
    const reason = new Error("stop now");
    setTimeout(() => {
      controller.abort(reason);
    }, 50);
    await assert.rejects(pending, (e: unknown) => e === reason);
    await assert.rejects(
      runCommand("sleep", ["30"], { signal: AbortSignal.abort(reason) }),
      (e: unknown) => e === reason,
    );
  });

  it("kills the child and rejects ResourceExhausted beyond maxBuffer", async () => {
    await assert.rejects(
      runCommand("/bin/sh", ["-c", "yes"], { maxBuffer: 100_000 }),
      (e: unknown) => isHuskError(e) && e.code === Code.ResourceExhausted && /stdout/.test(e.message),
    );
  });

  it("rejects NotFound for a missing executable", async () => {
    await assert.rejects(
      runCommand("husk-no-such-binary", []),
      (e: unknown) => isHuskError(e) && e.code === Code.NotFound,
    );
  });

  it("has no waiters left", async () => {
    await eventually(() => getReaper().waiting === 0, TIMEOUT_MS, "no waiters");
  });
});
