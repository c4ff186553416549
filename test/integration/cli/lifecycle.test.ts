/**
 * A detached container's whole life through the real `bin/husk` against real runc: run -d, list, exec (with status,
 * stdin and options), ps, state, pause/resume, stats, kill, delete (plain and -f), detached output to output.log, and
 * the daemon exiting by itself once the last container is deleted.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  assertLeftNothing,
  assertOneLineError,
  createLab,
  daemonPids,
  describeResult,
  eventually,
  type HuskResult,
  type Lab,
} from "./support.js";

interface StateJson {
  id: string;
  pid: number | null;
  status: string;
  bundle: string;
  exitStatus: number | null;
  exitedAt: string | null;
}

describe("husk detached container lifecycle", () => {
  let lab: Lab;
  let id: string;
  before(() => {
    lab = createLab("lifecycle");
    id = lab.newId("life");
  });
  after(async () => {
    await lab.destroy();
  });

  async function ok(args: readonly string[], input?: string): Promise<HuskResult> {
    const result = await lab.husk(args, input === undefined ? {} : { input });
    assert.equal(result.status, 0, `husk ${args.join(" ")}: ${describeResult(result)}`);
    return result;
  }

  async function state(target = id): Promise<StateJson> {
    return JSON.parse((await ok(["state", target])).stdout) as StateJson;
  }

  it("concurrent first runs start exactly one daemon and all succeed", async () => {
    const ids = [lab.newId("race"), lab.newId("race"), lab.newId("race")];
    const results = await Promise.all(
      ids.map((raceId) => lab.husk(["run", "-d", "--name", raceId, lab.rootfs, "--", "sleep", "1000"])),
    );
    for (const result of results) assert.equal(result.status, 0, describeResult(result));
    assert.equal(daemonPids(lab.root).length, 1, "one daemon serves the root");
    for (const raceId of ids) await ok(["delete", "-f", raceId]);
  });

  it("run -d prints the id and returns while the container runs", async () => {
    const result = await ok(["run", "-d", "--name", id, lab.rootfs, "--", "sleep", "1000"]);
    assert.equal(result.stdout, `${id}\n`);
    assert.equal(result.stderr, "");
    assert.equal(daemonPids(lab.root).length, 1, "one daemon serves the root");
  });

  it("list shows it running, as a table and as JSON", async () => {
    const table = (await ok(["list"])).stdout.split("\n");
    assert.match(table[0] ?? "", /^ID\s+PID\s+STATUS\s+EXIT STATUS\s+BUNDLE$/);
    const row = table.find((line) => line.startsWith(`${id} `));
    assert.ok(row !== undefined, table.join("\n"));
    assert.match(row, new RegExp(`^${id}\\s+\\d+\\s+running\\s+-\\s+${join(lab.root, "containers", id)}$`));
    const json = JSON.parse((await ok(["ls", "--json"])).stdout) as StateJson[];
    assert.deepEqual(
      json.map((entry) => [entry.id, entry.status]),
      [[id, "running"]],
    );
  });

  it("state is JSON with status running and the init's pid", async () => {
    const view = await state();
    assert.equal(view.id, id);
    assert.equal(view.status, "running");
    assert.equal(view.bundle, join(lab.root, "containers", id));
    assert.ok(typeof view.pid === "number" && view.pid > 0);
    assert.equal(view.exitStatus, null);
    assert.equal(view.exitedAt, null);
  });

  it("exec passes output through and exits with the process's status", async () => {
    const result = await lab.husk(["exec", id, "--", "sh", "-c", "echo hi; echo oops >&2; exit 3"]);
    assert.equal(result.status, 3, describeResult(result));
    assert.equal(result.stdout, "hi\n");
    assert.equal(result.stderr, "oops\n");
  });

  it("exec exits 128+N when the process dies of signal N", async () => {
    const result = await lab.husk(["exec", id, "--", "sh", "-c", "kill -9 $$"]);
    assert.equal(result.status, 137, describeResult(result));
  });

  it("exec -d starts the process and returns at once", async () => {
    const result = await ok(["exec", "-d", id, "--", "sh", "-c", "echo detached > /tmp/marker"]);
    assert.equal(result.stdout, "");
    assert.ok(
      await eventually(
        async () => (await lab.husk(["exec", id, "--", "cat", "/tmp/marker"])).stdout === "detached\n",
        10_000,
      ),
      "the detached exec ran",
    );
  });

  it("exec -i passes stdin through", async () => {
    const result = await ok(["exec", "-i", id, "--", "cat"], "data");
    assert.equal(result.stdout, "data");
  });

  it("exec applies --env, --cwd and --user", async () => {
    const result = await ok([
      "exec",
      "--env",
      "X=42",
      "--cwd",
      "/tmp",
      "--user",
      "1000",
      id,
      "--",
      "sh",
      "-c",
      'echo "$X" "$(pwd)" "$(id -u)"',
    ]);
    assert.equal(result.stdout, "42 /tmp 1000\n");
  });

  it("exec leaves no exec FIFOs behind and answers 127 for a missing command", async () => {
    const missing = await lab.husk(["exec", id, "--", "/no/such/command"]);
    assert.equal(missing.status, 127, describeResult(missing));
    assertOneLineError(missing, /no\/such\/command/);
    const bundle = readdirSync(join(lab.root, "containers", id));
    assert.deepEqual(
      bundle.filter((name) => /^exec-.*-(?:stdin|stdout|stderr)$/.test(name)),
      [],
      bundle.join(" "),
    );
  });

  it("ps lists the container's pids, the init's among them", async () => {
    const view = await state();
    const table = (await ok(["ps", id])).stdout.trim().split("\n");
    assert.match(table[0] ?? "", /^PID\s+EXEC ID$/);
    const pids = table.slice(1).map((line) => Number(line.split(/\s+/)[0]));
    assert.ok(pids.length >= 1);
    assert.ok(view.pid !== null && pids.includes(view.pid), `${String(view.pid)} in ${pids.join(",")}`);
    const json = JSON.parse((await ok(["ps", "--json", id])).stdout) as {
      pid: number;
      execId: string | null;
    }[];
    assert.deepEqual(json.map((entry) => entry.pid).sort(), [...pids].sort());
  });

  it("pause freezes it and resume thaws it", async () => {
    await ok(["pause", id]);
    assert.equal((await state()).status, "paused");
    assert.match((await ok(["list"])).stdout, new RegExp(`^${id}\\s+\\d+\\s+paused\\s`, "m"));
    await ok(["resume", id]);
    assert.equal((await state()).status, "running");
  });

  it("stats prints cgroup metrics as JSON with pids and memory", async () => {
    const stats = JSON.parse((await ok(["stats", id])).stdout) as Record<string, unknown>;
    assert.ok("pids" in stats, Object.keys(stats).join(","));
    assert.ok("memory" in stats, Object.keys(stats).join(","));
    const pids = stats.pids as { current?: string | number };
    assert.ok(Number(pids.current) >= 1, JSON.stringify(stats.pids));
  });

  it("kill rejects an unknown signal in one line", async () => {
    const result = await lab.husk(["kill", id, "BOGUS"]);
    assertOneLineError(result, /unknown signal "BOGUS"/);
    assert.equal((await state()).status, "running");
  });

  it("delete refuses a running container without -f", async () => {
    const result = await lab.husk(["delete", id]);
    assertOneLineError(result, /is running/);
    assert.equal((await state()).status, "running");
  });

  it("kill KILL stops it with exit status 137", async () => {
    await ok(["kill", id, "KILL"]);
    assert.ok(
      await eventually(async () => (await state()).status === "stopped", 10_000),
      "stopped within 10 s",
    );
    const view = await state();
    assert.equal(view.exitStatus, 137);
    assert.ok(view.exitedAt !== null && !Number.isNaN(Date.parse(view.exitedAt)));
  });

  it("delete removes it from the list and removes its bundle", async () => {
    await ok(["delete", id]);
    assert.equal(existsSync(join(lab.root, "containers", id)), false);
    const json = JSON.parse((await ok(["list", "--json"])).stdout) as StateJson[];
    assert.deepEqual(json, []);
    assertOneLineError(await lab.husk(["state", id]), /does not exist/);
  });

  it("a detached container's output goes to output.log in its bundle", async () => {
    const logged = lab.newId("logged");
    await ok(["run", "-d", "--name", logged, lab.rootfs, "--", "sh", "-c", "echo to-out; echo to-err >&2"]);
    assert.ok(await eventually(async () => (await state(logged)).status === "stopped", 10_000));
    assert.equal((await state(logged)).exitStatus, 0);
    const log = readFileSync(join(lab.root, "containers", logged, "output.log"), "utf8");
    assert.deepEqual(log.split("\n").filter(Boolean).sort(), ["to-err", "to-out"]);
    await ok(["rm", logged]);
  });

  it("delete -f kills a running container and deletes it; a generated id works too", async () => {
    const generated = (await ok(["run", "-d", lab.rootfs, "--", "sleep", "1000"])).stdout.trim();
    assert.match(generated, /^[0-9a-f]{12}$/);
    assert.equal((await state(generated)).status, "running");
    const paused = lab.newId("paused");
    await ok(["run", "-d", "--name", paused, lab.rootfs, "--", "sleep", "1000"]);
    await ok(["pause", paused]);
    await ok(["delete", "-f", generated]);
    await ok(["delete", "-f", paused]);
    assert.deepEqual(JSON.parse((await ok(["list", "--json"])).stdout), []);
  });

  it("leaves no container, no runtime state, and the daemon exits by itself", async () => {
    await assertLeftNothing(lab);
  });

  it("list, state and delete work with no daemon running; a leftover bundle shows as unknown", async () => {
    assert.deepEqual(JSON.parse((await ok(["list", "--json"])).stdout), []);
    assertOneLineError(await lab.husk(["state", "nosuch"]), /container "nosuch" does not exist/);
    mkdirSync(join(lab.root, "containers", "ghost"));
    assert.match((await ok(["list"])).stdout, /^ghost\s+-\s+unknown\s+-\s+\S+$/m);
    assert.equal((await state("ghost")).status, "unknown");
    assertOneLineError(await lab.husk(["kill", "ghost"]), /no husk daemon runs/);
    await ok(["delete", "ghost"]);
    assert.equal(existsSync(join(lab.root, "containers", "ghost")), false);
    assert.deepEqual(daemonPids(lab.root), [], "these commands start no daemon");
  });
});
