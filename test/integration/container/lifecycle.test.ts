/**
 * The library against the real runc: stdio, exit codes, signals, exec, the state machine's refusals, pause/resume,
 * stats and the event order — everything a Supervisor promises, on real containers.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import { capture, type Lab, openLab, readAll, waitForEvent, within } from "../../support/lab.js";

const PIPES = { stdout: { kind: "pipe" }, stderr: { kind: "pipe" } } as const;

async function rejectsWith(promise: Promise<unknown>, code: number, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isHuskError(error), `expected a HuskError, got ${String(error)}`);
    assert.equal(error.code, code, `code of "${error.message}"`);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  });
}

function assertThrowsCode(run: () => unknown, code: number): void {
  assert.throws(run, (error: unknown) => isHuskError(error) && error.code === code);
}

describe("container lifecycle on runc", () => {
  let lab: Lab;
  before(async () => {
    lab = await openLab();
  });
  after(async () => {
    await lab.close();
  });

  it("keeps stdout and stderr apart and reports the exit code", async () => {
    const c = await lab.create(
      "stdio",
      { args: ["sh", "-c", "echo out; echo err >&2; exit 7"] },
      { stdio: PIPES },
    );
    const stdout = readAll(c.io.stdout);
    const stderr = readAll(c.io.stderr);
    await c.start();
    const exit = await within(c.wait(), 20_000, "wait");
    assert.equal(exit.status, 7);
    assert.equal((await stdout).toString(), "out\n");
    assert.equal((await stderr).toString(), "err\n");
    assert.equal(c.state().status, "stopped");
    assert.equal(c.state().exitStatus, 7);
    await c.delete();
  });

  it("reports 137 for SIGKILL and runs a trapped SIGTERM handler", async () => {
    const killed = await lab.create("sigkill", { args: ["sleep", "1000"] });
    await killed.start();
    await killed.kill("SIGKILL");
    assert.equal((await within(killed.wait(), 20_000, "wait")).status, 137);
    await killed.delete();

    const script = "trap 'echo got-term; exit 42' TERM; echo ready; while true; do sleep 0.1; done";
    const trapped = await lab.create("sigterm", { args: ["sh", "-c", script] }, { stdio: PIPES });
    const out = capture(trapped.io.stdout);
    await trapped.start();
    await out.until("ready");
    await trapped.kill("TERM");
    assert.equal((await within(trapped.wait(), 20_000, "wait")).status, 42);
    assert.match((await out.ended).toString(), /got-term/);
    await trapped.delete();
  });

  it("kill with all reaches every process of the container", async () => {
    const c = await lab.create("killall", { args: ["sh", "-c", "sleep 1000 & sleep 1000 & wait"] });
    await c.start();
    await waitUntil(async () => (await c.pids()).length >= 3, "three processes");
    await c.kill(9, { all: true });
    assert.equal((await within(c.wait(), 20_000, "wait")).status, 137);
    await c.delete();
  });

  it("execs into a running container: exit code, stdout, stdin piped then closed", async () => {
    const c = await lab.create("exec", { args: ["sleep", "1000"] });
    await c.start();
    const e1 = c.addExec({ id: "e1", process: { args: ["sh", "-c", "echo from-exec; exit 3"] } });
    await e1.start();
    const out1 = readAll(e1.io.stdout);
    assert.equal((await within(e1.wait(), 20_000, "exec wait")).status, 3);
    assert.equal((await out1).toString(), "from-exec\n");
    await e1.delete();

    const e2 = c.addExec({
      id: "e2",
      process: { args: ["sh", "-c", "cat; echo done"] },
      stdio: { stdin: { kind: "pipe" }, ...PIPES },
    });
    assert.throws(
      () => e2.io,
      (e: unknown) => isHuskError(e) && e.code === Code.FailedPrecondition,
    );
    await e2.start();
    const out2 = readAll(e2.io.stdout);
    e2.io.stdin?.end("piped input\n");
    assert.equal((await within(e2.wait(), 20_000, "exec wait")).status, 0);
    assert.equal((await out2).toString(), "piped input\ndone\n");

    assertThrowsCode(() => c.addExec({ id: "e2", process: { args: ["true"] } }), Code.AlreadyExists);
    await e2.delete();
    await c.kill(9);
    await c.wait();
    assertThrowsCode(() => c.addExec({ id: "late", process: { args: ["true"] } }), Code.FailedPrecondition);
    await c.delete();
  });

  it("follows the stopped-init kill rules; refuses delete of a running container and a second start", async () => {
    const c = await lab.create("rules", { args: ["sleep", "1000"] });
    await c.start();
    await rejectsWith(c.start(), Code.FailedPrecondition);
    await rejectsWith(c.delete(), Code.FailedPrecondition);
    assert.equal(c.state().status, "running", "a refused delete changes nothing");
    assert.equal(lab.supervisor.find(c.id), c);
    await c.kill("KILL");
    await c.wait();
    await c.kill("TERM");
    await c.kill("KILL");
    await rejectsWith(c.kill("HUP"), Code.NotFound);
    await c.delete();
    assert.throws(
      () => lab.supervisor.get(c.id),
      (e: unknown) => isHuskError(e) && e.code === Code.NotFound,
    );
    await rejectsWith(c.delete(), Code.NotFound);
    await rejectsWith(c.start(), Code.FailedPrecondition);
  });

  it("pauses and resumes; refuses exec while paused; reports an exit while paused", async () => {
    const c = await lab.create("pause", { args: ["sleep", "1000"] });
    await c.start();
    await c.pause();
    assert.equal(c.state().status, "paused");
    assertThrowsCode(() => c.addExec({ id: "p1", process: { args: ["true"] } }), Code.FailedPrecondition);
    await c.resume();
    assert.equal(c.state().status, "running");
    const e = c.addExec({ id: "after-resume", process: { args: ["true"] } });
    await e.start();
    assert.equal((await within(e.wait(), 20_000, "exec wait")).status, 0);
    await e.delete();

    await c.pause();
    // SIGKILL while paused: husk thaws so the kill lands, and the exit is reported.
    await c.kill("KILL");
    assert.equal((await within(c.wait(), 20_000, "wait after kill while paused")).status, 137);
    assert.equal(c.state().status, "stopped");
    await c.delete();
  });

  it("reports stats with pids and memory usage", async () => {
    const c = await lab.create("stats", {
      args: ["sleep", "1000"],
      limits: { memoryBytes: 64 << 20, pidsLimit: 20 },
    });
    await c.start();
    const stats = await c.stats();
    if (stats.version === 1) {
      assert.ok(stats.metrics.pids.current >= 1n, "pids.current");
      assert.equal(stats.metrics.pids.limit, 20n);
      assert.ok(stats.metrics.memory.usage.usage > 0n, "memory usage");
      assert.equal(stats.metrics.memory.usage.limit, BigInt(64 << 20));
    } else {
      assert.ok(stats.metrics.pids.current >= 1n, "pids.current");
      assert.ok(stats.metrics.memory.usage > 0n, "memory usage");
    }
    await c.kill(9);
    await c.wait();
    await rejectsWith(c.stats(), Code.FailedPrecondition);
    await c.delete();
  });

  it("moves 64 MiB through stdout byte-exact", async () => {
    const size = 64 << 20;
    const c = await lab.create(
      "bulk",
      // fd 3 is the container's stdout; tee's own stdout is the pipe into sha256sum.
      { args: ["sh", "-c", `exec 3>&1; head -c ${size} /dev/urandom | tee /dev/fd/3 | sha256sum >&2`] },
      { stdio: PIPES },
    );
    const hash = createHash("sha256");
    let bytes = 0;
    c.io.stdout?.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    const stderr = readAll(c.io.stderr);
    await c.start();
    assert.equal((await within(c.wait(), 120_000, "bulk wait")).status, 0);
    assert.equal(bytes, size);
    assert.equal((await stderr).toString().split(/\s+/)[0], hash.digest("hex"));
    await c.delete();
  });

  it("publishes lifecycle events in order", async () => {
    const first = lab.events.length;
    const c = await lab.create("events", { args: ["sleep", "1000"] });
    await c.start();
    const e = c.addExec({ id: "ev", process: { args: ["true"] } });
    await e.start();
    await e.wait();
    await e.delete();
    await c.pause();
    await c.resume();
    await c.kill(9);
    await c.wait();
    await c.delete();
    await waitForEvent(lab, (event) => event.type === "delete" && event.containerId === c.id);
    const seen = lab.events
      .slice(first)
      .filter((event) => event.containerId === c.id)
      .map((event) => (event.type === "exit" ? `exit:${event.id === c.id ? "init" : event.id}` : event.type));
    assert.deepEqual(seen, [
      "create",
      "start",
      "exec-added",
      "exec-started",
      "exit:ev",
      "paused",
      "resumed",
      "exit:init",
      "delete",
    ]);
  });
});

async function waitUntil(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
