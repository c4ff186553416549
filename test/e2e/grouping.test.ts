/**
 * Scenario 5: containers labelled with the same `io.containerd.runc.v2.group` share one shim daemon (one socket,
 * one pid — the parent of both init processes, as the daemon is their subreaper); a container without the label gets
 * its own; the shared daemon keeps serving the survivor after the first is deleted and exits after the last.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { describeResult } from "./support/ctr.js";
import { useContainerd } from "./support/fixture.js";
import { isAlive, ownedProcesses, parentPid } from "./support/procfs.js";
import { selectedRuntime } from "./support/runtime.js";
import { killAndDelete, runDetached, taskRow, waitUntil } from "./support/tasks.js";

const runtime = selectedRuntime();
const GROUP_LABEL = "io.containerd.runc.v2.group";

describe(`e2e ${runtime.name}: shim grouping`, () => {
  const fx = useContainerd();

  const run = (id: string, labels: readonly string[]): Promise<unknown> =>
    runDetached(fx.containerd, id, { runtime: runtime.name, labels });

  /** The shim daemon of a task: the parent of its init process (the daemon is the subreaper). */
  async function daemonOf(id: string): Promise<number> {
    const { containerd } = fx;
    const row = await taskRow(containerd, id);
    const parent = parentPid(row.pid);
    assert.ok(parent !== undefined && parent > 1, `parent of ${id}'s init ${row.pid}: ${String(parent)}`);
    return parent;
  }

  it("two containers of one group share a daemon that outlives the first and exits after the last", () =>
    fx.diagnose(async () => {
      const { containerd } = fx;
      const group = containerd.newId("grp");
      const first = containerd.newId("member");
      const second = containerd.newId("member");
      const loner = containerd.newId("loner");
      await run(first, [`${GROUP_LABEL}=${group}`]);
      await run(second, [`${GROUP_LABEL}=${group}`]);
      await run(loner, []);

      const daemon = await daemonOf(first);
      assert.equal(await daemonOf(second), daemon, "grouped containers share one shim daemon");
      const lonerDaemon = await daemonOf(loner);
      assert.notEqual(lonerDaemon, daemon, "an ungrouped container has its own daemon");

      // Both bundles name the group's socket (hash of "<address>/<ns>/<group>").
      const socket = containerd.shimSocket(group);
      for (const id of [first, second]) {
        const address = readFileSync(join(containerd.bundleDir(id), "address"), "utf8").trim();
        assert.equal(address, `unix://${socket}`, `address file of ${id}`);
      }
      assert.ok(existsSync(socket));
      const owned = ownedProcesses({
        address: containerd.address,
        ttrpcAddress: containerd.ttrpcAddress,
        directory: containerd.tmpDir,
        exclude: [containerd.pid],
      }).map((p) => p.pid);
      assert.ok(owned.includes(daemon), `daemon ${daemon} is recognisably ours: ${owned.join(",")}`);

      await killAndDelete(fx.containerd, fx.stream, first);
      assert.ok(isAlive(daemon), "the shared daemon still serves the second container");
      assert.ok(existsSync(socket), "the group socket stays while a member remains");
      const exec = await containerd.ctr([
        "tasks",
        "exec",
        "--exec-id",
        "probe",
        second,
        "/bin/sh",
        "-c",
        "exit 6",
      ]);
      assert.equal(exec.status, 6, describeResult(exec));
      assert.equal((await taskRow(containerd, second)).status, "RUNNING");

      await killAndDelete(fx.containerd, fx.stream, second);
      await waitUntil(() => !isAlive(daemon), `grouped daemon ${daemon} to exit`);
      await waitUntil(() => !existsSync(socket), `group socket ${socket} to be removed`);
      assert.ok(isAlive(lonerDaemon), "the other container's daemon is unaffected");

      await killAndDelete(fx.containerd, fx.stream, loner);
      await waitUntil(() => !isAlive(lonerDaemon), `daemon ${lonerDaemon} to exit`);
    }));

  it("leaves nothing behind", () => fx.diagnose(() => fx.containerd.assertNoLeaks()));
});
