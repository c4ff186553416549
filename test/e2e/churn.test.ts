/**
 * Scenario 7: 100 sequential `ctr run --rm <rootfs> <id> true` must leave no zombie, no shim socket, no shim daemon
 * and no bundle state behind.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { describe, it } from "node:test";
import { describeResult } from "./support/ctr.js";
import { useContainerd } from "./support/fixture.js";
import { ownedProcesses, shimSocketPath, zombieChildren } from "./support/procfs.js";
import { selectedRuntime } from "./support/runtime.js";
import { waitUntil } from "./support/tasks.js";

const runtime = selectedRuntime();
const RUNS = 100;

describe(`e2e ${runtime.name}: ${RUNS} sequential runs`, () => {
  const fx = useContainerd({ events: false });

  it(`${RUNS} × ctr run --rm … true leave no zombie, socket, daemon or bundle`, () =>
    fx.diagnose(async () => {
      const { containerd } = fx;
      const ids: string[] = [];
      for (let i = 0; i < RUNS; i++) {
        const id = containerd.newId("churn");
        ids.push(id);
        const result = await containerd.ctr([
          "run",
          "--rm",
          "--runtime",
          runtime.name,
          "--rootfs",
          containerd.rootfs(),
          id,
          "/bin/true",
        ]);
        assert.equal(result.status, 0, `run ${i + 1}: ${describeResult(result)}`);
      }

      const bundles = containerd.bundleDir("");
      const sockets = ids.map((id) => shimSocketPath(containerd.address, containerd.namespace, id));
      const leftovers = (): string[] => [
        ...zombieChildren(containerd.pid).map((p) => `zombie ${p.pid} (${p.comm}) of containerd`),
        ...zombieChildren(process.pid).map((p) => `zombie ${p.pid} (${p.comm}) of the test`),
        ...ownedProcesses({
          address: containerd.address,
          ttrpcAddress: containerd.ttrpcAddress,
          directory: containerd.tmpDir,
          exclude: [containerd.pid],
        }).map((p) => `process ${p.pid} (${p.comm})`),
        ...sockets.filter((path) => existsSync(path)).map((path) => `socket ${path}`),
        ...(existsSync(bundles) ? readdirSync(bundles) : []).map((name) => `bundle ${name}`),
      ];
      // Shims exit asynchronously after the last Delete: let things settle, then assert the exact state.
      await waitUntil(() => leftovers().length === 0, "the churn to leave nothing behind").catch(
        () => undefined,
      );
      assert.deepEqual(leftovers(), []);
    }));

  it("leaves nothing behind", () => fx.diagnose(() => fx.containerd.assertNoLeaks()));
});
