/**
 * cgroup statistics of a real runc container, read from the kernel's files through loadCgroup(pid).
 * Uses the reaper (no node:child_process).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { cgroupVersion, loadCgroup } from "../../../src/cgroups/index.js";
import { Code, isHuskError } from "../../../src/errors.js";
import { Harness, withTimeout } from "../oci/harness.js";

const MiB = 1024 * 1024;
const WAIT_MS = 20_000;

let h: Harness;
before(() => {
  h = new Harness("cgstats");
});
after(async () => {
  await h.cleanup();
});

describe("cgroup stats of a runc container", () => {
  it("finds the cgroup from the init pid and reads pids, memory and cpu", async () => {
    const c = await h.run("stats", {
      args: ["sh", "-c", "x=$(head -c 1000000 /dev/zero | tr '\\0' a); echo filled; exec sleep 1000"],
      limits: { memoryBytes: 48 * MiB, pidsLimit: 32 },
    });
    await c.output.waitFor("filled", WAIT_MS);
    const cgroup = await loadCgroup(c.pid);
    assert.ok(cgroup, "the init has a cgroup");
    assert.equal(cgroup.version, cgroupVersion());
    assert.ok(cgroup.exists());
    for (const dir of cgroup.directories.values()) assert.ok(existsSync(dir), dir);

    const stats = await cgroup.stats();
    if (stats.version === 1) {
      const m = stats.metrics;
      // Each controller is read from its own hierarchy: memory may sit elsewhere than pids/cpu.
      assert.ok(cgroup.directories.get("memory")?.endsWith(`/${c.id}`));
      assert.ok(cgroup.directories.get("pids")?.endsWith(`/${c.id}`));
      assert.ok(m.pids.current >= 1n, `pids.current ${m.pids.current}`);
      assert.equal(m.pids.limit, 32n);
      assert.ok(m.memory.usage.usage > 0n, `memory usage ${m.memory.usage.usage}`);
      assert.equal(m.memory.usage.limit, BigInt(48 * MiB));
      assert.ok(m.memory.usage.max >= m.memory.usage.usage);
      assert.ok(m.memory.totalRss + m.memory.totalCache > 0n);
      assert.ok(m.cpu.usage.total > 0n);
      assert.ok(m.cpu.usage.perCpu.length >= 1);
      assert.equal(m.memoryOomControl.oomKill, 0n);
    } else {
      const m = stats.metrics;
      assert.ok(m.pids.current >= 1n);
      assert.equal(m.pids.limit, 32n);
      assert.ok(m.memory.usage > 0n);
      assert.equal(m.memory.usageLimit, BigInt(48 * MiB));
    }
    assert.equal(cgroup.oomKillCount(), 0);

    await h.runtime.delete(c.id, { force: true });
    assert.equal((await withTimeout(c.exit, WAIT_MS, "the init's exit")).status, 137);
    // runc removes the leaf cgroup on delete.
    assert.equal(cgroup.exists(), false);
    await assert.rejects(cgroup.stats(), (e: unknown) => isHuskError(e) && e.code === Code.NotFound);
  });

  it("answers undefined for a pid that does not exist", async () => {
    assert.equal(await loadCgroup(0x3fffff), undefined);
  });
});
