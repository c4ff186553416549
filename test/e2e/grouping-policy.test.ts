/**
 * husk's grouping policy (src/shim/config.ts `grouping`), chosen per container through the runtime options' config
 * path (`ctr run --runtime-config-path`, CRI's `ConfigPath`): with `"namespace"` ten containers are served by one
 * daemon whatever their labels, with `"container"` each of ten containers gets its own daemon even when all carry the
 * same `io.containerd.runc.v2.group` label. The daemon of a container is the parent of its init process (the daemon is
 * its subreaper). Each config file is new to the shim (a random comment), so the first start of each policy goes
 * through the Node.js `start` and the later ones through the native launcher. husk only: containerd's runc shim has
 * no such policy.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { stringField } from "./support/events.js";
import { useContainerd } from "./support/fixture.js";
import { isAlive, parentPid } from "./support/procfs.js";
import { selectedRuntime } from "./support/runtime.js";
import { taskRow, waitUntil } from "./support/tasks.js";

const runtime = selectedRuntime();
const GROUP_LABEL = "io.containerd.runc.v2.group";
/** The group key of the per-namespace policy (src/shim/start.ts NAMESPACE_GROUP). */
const NAMESPACE_GROUP = "@husk:namespace";
/** Where the shim records each config file's policy (src/shim/start.ts GROUPING_CACHE_DIR). */
const GROUPING_CACHE_DIR = "/run/husk/shim-grouping";
const COUNT = 10;

describe(`e2e ${runtime.name}: grouping policy from the shim config`, {
  skip: runtime.flavour === "husk" ? false : "the grouping policy is husk's own",
}, () => {
  const fx = useContainerd();
  const cacheEntries: string[] = [];
  after(() => {
    // The policy records made for this file's config files: a cache the shim keeps, ours to remove.
    for (const entry of cacheEntries) rmSync(entry, { force: true });
  });

  /** A config file with this policy and content the shim has never seen. */
  function configFile(grouping: string): string {
    const text = `# grouping-policy test ${randomBytes(8).toString("hex")}\ngrouping = "${grouping}"\n`;
    const path = join(fx.containerd.scratchDir(`config-${grouping}`), "shim.toml");
    writeFileSync(path, text);
    cacheEntries.push(join(GROUPING_CACHE_DIR, createHash("sha256").update(text).digest("hex")));
    return path;
  }

  async function run(id: string, config: string, labels: readonly string[]): Promise<void> {
    const { containerd } = fx;
    await containerd.ctrOk([
      "run",
      "-d",
      "--runtime",
      runtime.name,
      "--runtime-config-path",
      config,
      ...labels.flatMap((label) => ["--label", label]),
      "--rootfs",
      containerd.rootfs(),
      id,
      "/bin/sleep",
      "100000",
    ]);
  }

  /** The shim daemon serving a task: the parent of its init process. */
  async function daemonOf(id: string): Promise<number> {
    const row = await taskRow(fx.containerd, id);
    assert.equal(row.status, "RUNNING", `task ${id}`);
    const parent = parentPid(row.pid);
    assert.ok(parent !== undefined && parent > 1, `parent of ${id}'s init ${row.pid}: ${String(parent)}`);
    return parent;
  }

  async function killAndDelete(id: string): Promise<void> {
    const { containerd, stream } = fx;
    await containerd.ctrOk(["tasks", "kill", "-s", "SIGKILL", id]);
    await stream.waitFor((e) => e.topic === "/tasks/exit" && stringField(e, "container_id") === id);
    await containerd.ctrOk(["tasks", "delete", id]);
    await containerd.ctrOk(["containers", "delete", id]);
  }

  function addressOf(id: string): string {
    return readFileSync(join(fx.containerd.bundleDir(id), "address"), "utf8").trim();
  }

  it(`per namespace: ${COUNT} containers, differently labelled, are served by one daemon`, () =>
    fx.diagnose(async () => {
      const { containerd } = fx;
      const config = configFile("namespace");
      const ids = Array.from({ length: COUNT }, () => containerd.newId("ns"));
      const labelsOf = (index: number): string[] => (index % 2 === 0 ? [] : [`${GROUP_LABEL}=g${index}`]);
      // The first start records the policy (Node.js); the rest join at once (launcher).
      await run(ids[0] ?? "", config, labelsOf(0));
      assert.ok(existsSync(cacheEntries.at(-1) ?? ""), "the first start recorded the policy");
      await Promise.all(ids.slice(1).map((id, index) => run(id, config, labelsOf(index + 1))));

      const daemons = new Set(await Promise.all(ids.map(daemonOf)));
      assert.equal(daemons.size, 1, `daemons: ${[...daemons].join(", ")}`);
      const [daemon = 0] = daemons;
      const socket = containerd.shimSocket(NAMESPACE_GROUP);
      for (const id of ids) assert.equal(addressOf(id), `unix://${socket}`, `address of ${id}`);
      assert.ok(existsSync(socket));

      // The daemon serves the rest when some go, and leaves with the last.
      for (const id of ids.slice(0, -1)) await killAndDelete(id);
      assert.ok(isAlive(daemon), "the namespace daemon still serves the last container");
      await killAndDelete(ids.at(-1) ?? "");
      await waitUntil(() => !isAlive(daemon), `namespace daemon ${daemon} to exit`);
      await waitUntil(() => !existsSync(socket), `socket ${socket} to be removed`);
    }));

  it(`per container: ${COUNT} containers with one group label get a daemon each`, () =>
    fx.diagnose(async () => {
      const { containerd } = fx;
      const config = configFile("container");
      const ids = Array.from({ length: COUNT }, () => containerd.newId("own"));
      const label = `${GROUP_LABEL}=${containerd.newId("shared")}`;
      for (const id of ids) await run(id, config, [label]);
      assert.ok(existsSync(cacheEntries.at(-1) ?? ""), "the first start recorded the policy");

      const daemons = await Promise.all(ids.map(daemonOf));
      assert.equal(new Set(daemons).size, COUNT, `daemons: ${daemons.join(", ")}`);
      for (const id of ids) {
        assert.equal(
          addressOf(id),
          `unix://${containerd.shimSocket(id)}`,
          `${id} has the socket of its own id`,
        );
      }

      for (const id of ids) await killAndDelete(id);
      for (const daemon of daemons) await waitUntil(() => !isAlive(daemon), `daemon ${daemon} to exit`);
    }));

  it("leaves nothing behind", () => fx.diagnose(() => fx.containerd.assertNoLeaks()));
});
