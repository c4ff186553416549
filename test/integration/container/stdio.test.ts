/**
 * The library's other stdio modes on real runc: a pty (sized before start, written to and read from), output appended
 * to a file, a containerd-style binary logger receiving the output pipes as fds 3 and 4, and an exec on a pty.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { capture, type Lab, openLab, within } from "../../support/lab.js";

describe("stdio modes", () => {
  let lab: Lab;
  before(async () => {
    lab = await openLab();
  });
  after(async () => {
    await lab.close();
  });

  it("runs the init on a pty: the size set before start, input written, output read", async () => {
    const script = "tty; stty size; read line; echo got-$line";
    const c = await lab.create(
      "pty",
      { args: ["sh", "-c", script], terminal: true },
      { stdio: { terminal: true, stdin: { kind: "pipe" }, stdout: { kind: "pipe" } } },
    );
    c.resize(100, 30);
    const out = capture(c.io.stdout);
    await c.start();
    await out.until("30 100");
    c.io.stdin?.write("hello\n");
    assert.equal((await within(c.wait(), 20_000, "pty wait")).status, 0);
    const text = (await within(out.ended, 20_000, "pty output")).toString();
    assert.match(text, /^\/dev\/pts\/\d+\r\n/);
    assert.match(text, /got-hello\r\n/);
    await c.delete();
  });

  it("runs an exec on its own pty", async () => {
    const c = await lab.create("ptyexec", { args: ["sleep", "1000"] }, { stdio: {} });
    await c.start();
    const e = c.addExec({
      id: "t",
      process: { args: ["sh", "-c", "tty; echo done"] },
      stdio: { terminal: true, stdout: { kind: "pipe" } },
    });
    await e.start();
    const out = capture(e.io.stdout);
    assert.equal((await within(e.wait(), 20_000, "exec wait")).status, 0);
    assert.match((await out.ended).toString(), /^\/dev\/pts\/\d+\r\ndone\r\n$/);
    await e.delete();
    await c.delete({ force: true });
  });

  it("appends stdout and stderr to one file", async () => {
    const log = join(lab.dir, "logs", "out.log");
    const c = await lab.create(
      "file",
      { args: ["sh", "-c", "echo one; echo two >&2; echo three"] },
      { stdio: { stdout: { kind: "file", path: log }, stderr: { kind: "file", path: log } } },
    );
    await c.start();
    assert.equal((await within(c.wait(), 20_000, "wait")).status, 0);
    assert.equal(readFileSync(log, "utf8"), "one\ntwo\nthree\n");
    await c.delete();
  });

  it("hands stdout and stderr to a binary logger as fds 3 and 4", async () => {
    const dir = join(lab.dir, "logger");
    mkdirSync(dir);
    const logger = join(dir, "logger.sh");
    writeFileSync(
      logger,
      `#!/bin/sh
cat <&3 > "$1/out" &
cat <&4 > "$1/err" &
env > "$1/env"
printf ready >&5
exec 5>&-
wait
`,
    );
    chmodSync(logger, 0o755);
    const c = await lab.create(
      "logger",
      { args: ["sh", "-c", "echo to-out; echo to-err >&2"] },
      {
        stdio: {
          logger: { path: logger, args: [dir], env: { CONTAINER_ID: "c", CONTAINER_NAMESPACE: "n" } },
        },
      },
    );
    await c.start();
    assert.equal((await within(c.wait(), 20_000, "wait")).status, 0);
    await c.delete();
    assert.equal(readFileSync(join(dir, "out"), "utf8"), "to-out\n");
    assert.equal(readFileSync(join(dir, "err"), "utf8"), "to-err\n");
    const env = readFileSync(join(dir, "env"), "utf8");
    assert.match(env, /^CONTAINER_ID=c$/m);
    assert.doesNotMatch(env, /^HOME=/m, "the logger gets only the container's env");
  });
});
