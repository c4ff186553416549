/**
 * `husk run -t` and `husk exec -t` on a real pseudo-terminal (@lydell/node-pty spawns bin/husk as the session leader
 * of a pty of a chosen size): the container gets a pty of its own, sized like ours, and with -i our keystrokes reach
 * it through raw mode.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertLeftNothing, createLab, describeResult, type Lab, runUnderPty } from "./support.js";

describe("husk with a terminal", () => {
  let lab: Lab;
  before(() => {
    lab = createLab("tty");
  });
  after(async () => {
    await lab.destroy();
  });

  it("run -t gives the container a pty of our terminal's size", async () => {
    const result = await runUnderPty(
      ["run", "-t", "--rm", lab.rootfs, "--", "sh", "-c", "tty; stty size; exit 5"],
      {
        cols: 100,
        rows: 30,
        env: lab.env,
      },
    );
    assert.equal(result.timedOut, false, result.output);
    assert.equal(result.exitCode, 5, result.output);
    assert.match(result.output, /^\/dev\/pts\/\d+\r?$/m);
    assert.match(result.output, /^30 100\r?$/m);
  });

  it("run -ti forwards keystrokes through raw mode", async () => {
    let typed = false;
    const result = await runUnderPty(
      ["run", "-ti", "--rm", lab.rootfs, "--", "sh", "-c", 'echo ready; read line; echo "got:$line"'],
      {
        cols: 80,
        rows: 24,
        env: lab.env,
        onData: (_data, write) => {
          if (!typed) {
            typed = true;
            write("hello\r");
          }
        },
      },
    );
    assert.equal(result.timedOut, false, result.output);
    assert.equal(result.exitCode, 0, result.output);
    assert.match(result.output, /got:hello/);
  });

  it("exec -t gives an exec a pty", async () => {
    const id = lab.newId("tty");
    const started = await lab.husk(["run", "-d", "--name", id, lab.rootfs, "--", "sleep", "1000"]);
    assert.equal(started.status, 0, describeResult(started));
    try {
      const result = await runUnderPty(["exec", "-t", id, "--", "sh", "-c", "tty; exit 4"], {
        cols: 90,
        rows: 20,
        env: lab.env,
      });
      assert.equal(result.exitCode, 4, result.output);
      assert.match(result.output, /^\/dev\/pts\/\d+\r?$/m);
    } finally {
      const deleted = await lab.husk(["delete", "-f", id]);
      assert.equal(deleted.status, 0, describeResult(deleted));
    }
  });

  it("leaves no container, no runtime state, and the daemon exits by itself", async () => {
    await assertLeftNothing(lab);
  });
});
