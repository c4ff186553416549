/**
 * The library on crun 1.8.1. This host's hybrid cgroup layout makes crun refuse to run unless it sees a pure cgroup2
 * mount and its cgroup manager is disabled, so the runtime binary is a wrapper (test/support/crun.ts) that runs the real
 * crun in a private mount namespace with `--cgroup-manager=disabled`. Without cgroups crun cannot pause or list
 * processes and husk has no stats: those answer typed errors.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import { makeCrunWrapper } from "../../support/crun.js";
import { capture, type Lab, openLab, within } from "../../support/lab.js";

describe("container lifecycle on crun", () => {
  let lab: Lab;
  const wrapperDir = mkdtempSync(join(tmpdir(), "husk-crun-"));
  before(async () => {
    lab = await openLab({ runtime: { binary: makeCrunWrapper(wrapperDir) } });
  });
  after(async () => {
    try {
      await lab.close();
    } finally {
      rmSync(wrapperDir, { recursive: true, force: true });
    }
  });

  it("keeps stdout and stderr apart and reports the exit code", async () => {
    const c = await lab.create(
      "stdio",
      { args: ["sh", "-c", "echo out; echo err >&2; exit 7"] },
      { stdio: { stdout: { kind: "pipe" }, stderr: { kind: "pipe" } } },
    );
    const out = capture(c.io.stdout);
    const err = capture(c.io.stderr);
    await c.start();
    assert.equal((await within(c.wait(), 20_000, "wait")).status, 7);
    assert.equal((await out.ended).toString(), "out\n");
    assert.equal((await err.ended).toString(), "err\n");
    await c.delete();
  });

  it("execs, kills with 137, and answers typed errors for what needs a cgroup", async () => {
    const c = await lab.create("life", { args: ["sleep", "1000"] }, { stdio: {} });
    await c.start();
    const e = c.addExec({ id: "e", process: { args: ["sh", "-c", "echo in-crun; exit 4"] } });
    await e.start();
    const out = capture(e.io.stdout);
    assert.equal((await within(e.wait(), 20_000, "exec wait")).status, 4);
    assert.equal((await out.ended).toString(), "in-crun\n");
    await e.delete();
    await assert.rejects(
      c.pause(),
      (error: unknown) => isHuskError(error) && error.code === Code.FailedPrecondition,
    );
    assert.equal(c.state().status, "running");
    await assert.rejects(c.stats(), (error: unknown) => isHuskError(error) && error.code === Code.NotFound);
    await c.kill("KILL");
    assert.equal((await within(c.wait(), 20_000, "wait")).status, 137);
    await c.delete();
  });
});
