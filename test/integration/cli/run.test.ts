/**
 * `husk run` in the foreground against real runc, through the real `bin/husk` and the daemon it starts: separate
 * stdout/stderr, exit statuses (128+N for signal N), stdin, signal forwarding, process options, and one-line errors.
 * Every run here uses --rm or is deleted, so the daemon must exit by itself at the end.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  assertLeftNothing,
  assertOneLineError,
  collect,
  containerDirs,
  createLab,
  describeResult,
  eventually,
  type Lab,
} from "./support.js";

describe("husk run (foreground)", () => {
  let lab: Lab;
  before(() => {
    lab = createLab("run");
  });
  after(async () => {
    await lab.destroy();
  });

  it("streams stdout and stderr separately and exits with the container's status", async () => {
    const result = await lab.husk([
      "run",
      "--rm",
      lab.rootfs,
      "--",
      "sh",
      "-c",
      "echo out; echo err >&2; exit 7",
    ]);
    assert.equal(result.status, 7, describeResult(result));
    assert.equal(result.stdout, "out\n");
    assert.equal(result.stderr, "err\n");
    assert.deepEqual(containerDirs(lab.root), [], "--rm removes the bundle");
  });

  it("exits 128+N when the container dies of signal N", async () => {
    // The init is pid 1 of its pid namespace, which the kernel protects from its own SIGKILL (`sh -c 'kill -9 $$'`
    // exits 0), so the signal comes from outside, through `husk kill`.
    const id = lab.newId("sig");
    const run = collect(lab.spawnHusk(["run", "--rm", "--name", id, lab.rootfs, "--", "sleep", "1000"]));
    const running = await eventually(async () => {
      const state = await lab.husk(["state", id]);
      return state.status === 0 && (JSON.parse(state.stdout) as { status: string }).status === "running";
    }, 20_000);
    assert.ok(running, "the container runs within 20 s");
    const kill = await lab.husk(["kill", id, "KILL"]);
    assert.equal(kill.status, 0, describeResult(kill));
    const result = await run;
    assert.equal(result.status, 137, describeResult(result));
    assert.equal(result.stderr, "");
  });

  it("passes stdin through with -i and closes it at our EOF", async () => {
    const result = await lab.husk(["run", "--rm", "-i", lab.rootfs, "--", "sh", "-c", "cat; echo done"], {
      input: "data\nmore\n",
    });
    assert.equal(result.status, 0, describeResult(result));
    assert.equal(result.stdout, "data\nmore\ndone\n");
  });

  it("loses no output: 1 MiB of stdout arrives whole", async () => {
    const result = await lab.husk([
      "run",
      "--rm",
      lab.rootfs,
      "--",
      "sh",
      "-c",
      "head -c 1048576 /dev/zero | tr '\\0' x",
    ]);
    assert.equal(result.status, 0, describeResult(result).slice(0, 500));
    assert.equal(result.stdout.length, 1048576);
    assert.match(result.stdout, /^x+$/);
  });

  it("applies --env, --cwd, --user and --hostname", async () => {
    const result = await lab.husk([
      "run",
      "--rm",
      "--env",
      "GREETING=hello world",
      "--cwd",
      "/tmp",
      "--user",
      "1000:1001",
      "--hostname",
      "box",
      lab.rootfs,
      "--",
      "sh",
      "-c",
      'echo "$GREETING"; pwd; id -u; id -g; hostname',
    ]);
    assert.equal(result.status, 0, describeResult(result));
    assert.equal(result.stdout, "hello world\n/tmp\n1000\n1001\nbox\n");
  });

  it("applies --memory and --pids-limit to the container's cgroup", async () => {
    const id = lab.newId("limits");
    // cgroup v1 or v2: print whichever files this host has, from inside the container's view of its own cgroup.
    const script =
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max 2>/dev/null || " +
      "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max";
    const result = await lab.husk([
      "run",
      "--rm",
      "--name",
      id,
      "--memory",
      "64m",
      "--pids-limit",
      "20",
      lab.rootfs,
      "--",
      "sh",
      "-c",
      script,
    ]);
    assert.equal(result.status, 0, describeResult(result));
    assert.equal(result.stdout, `${64 * 1024 * 1024}\n20\n`);
  });

  it("forwards SIGTERM to the container and exits with what it answers", async () => {
    const child = lab.spawnHusk([
      "run",
      "--rm",
      lab.rootfs,
      "--",
      "sh",
      "-c",
      'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.1; done',
    ]);
    const ready = new Promise<void>((resolve) => {
      let seen = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes("ready\n")) resolve();
      });
    });
    const finished = collect(child);
    await ready;
    child.kill("SIGTERM");
    const result = await finished;
    assert.equal(result.status, 42, describeResult(result));
    assert.match(result.stdout, /got-term\n$/);
  });

  it("without --rm keeps the stopped container and its exit status until deleted", async () => {
    const id = lab.newId("kept");
    const result = await lab.husk(["run", "--name", id, lab.rootfs, "--", "sh", "-c", "exit 3"]);
    assert.equal(result.status, 3, describeResult(result));
    const state = await lab.husk(["state", id]);
    assert.equal(state.status, 0, describeResult(state));
    const view = JSON.parse(state.stdout) as { status: string; exitStatus: number; exitedAt: string };
    assert.equal(view.status, "stopped");
    assert.equal(view.exitStatus, 3);
    assert.ok(!Number.isNaN(Date.parse(view.exitedAt)), view.exitedAt);
    const again = await lab.husk(["run", "--name", id, lab.rootfs, "--", "true"]);
    assertOneLineError(again, new RegExp(`container "${id}" already exists`));
    assert.equal(again.status, 125);
    const deleted = await lab.husk(["delete", id]);
    assert.equal(deleted.status, 0, describeResult(deleted));
    assert.equal(existsSync(join(lab.root, "containers", id)), false);
  });

  it("exits 127 when the command does not exist in the rootfs", async () => {
    const result = await lab.husk(["run", "--rm", lab.rootfs, "--", "/no/such/command"]);
    assert.equal(result.status, 127, describeResult(result));
    assertOneLineError(result, /no\/such\/command/);
  });

  it("reports a missing rootfs in one line with status 125 and leaves nothing", async () => {
    const result = await lab.husk(["run", "/nonexistent", "--", "true"]);
    assertOneLineError(result, /rootfs "\/nonexistent" does not exist/);
    assert.equal(result.status, 125);
  });

  it("rejects an invalid --name in one line", async () => {
    const result = await lab.husk(["run", "--name", "../x", lab.rootfs, "--", "true"]);
    assertOneLineError(result, /container id "\.\.\/x" is invalid/);
    assert.equal(result.status, 125);
  });

  it("answers an unknown flag or command with the usage line and status 2", async () => {
    const result = await lab.husk(["run", "--bogus", lab.rootfs, "--", "true"]);
    assert.equal(result.status, 2, describeResult(result));
    assert.equal(result.stderr, `husk: unknown option "--bogus"\n${result.stderr.split("\n")[1] ?? ""}\n`);
    assert.match(result.stderr.split("\n")[1] ?? "", /^usage: husk run /);
    const unknown = await lab.husk(["frob"]);
    assert.equal(unknown.status, 2, describeResult(unknown));
    assert.match(unknown.stderr, /^husk: unknown command "frob"\nusage: husk /);
  });

  it("reports an unknown container in one line", async () => {
    for (const args of [
      ["state", "nosuch"],
      ["kill", "nosuch"],
      ["delete", "nosuch"],
      ["exec", "nosuch", "true"],
    ]) {
      const result = await lab.husk(args);
      assertOneLineError(result, /container "nosuch" does not exist/);
    }
  });

  it("prints its version and help", async () => {
    const version = await lab.husk(["--version"]);
    assert.equal(version.status, 0);
    assert.match(version.stdout, /^husk version \d+\.\d+\.\d+/);
    const help = await lab.husk(["help"]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^usage: husk /);
    assert.match(help.stdout, /^ {2}run /m);
  });

  it("leaves no container, no runtime state, and the daemon exits by itself", async () => {
    await assertLeftNothing(lab);
  });
});
