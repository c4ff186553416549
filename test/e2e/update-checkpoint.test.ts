/**
 * Update and Checkpoint through the shim. `ctr` 1.6 has no update command, so a test client calls the Task API on the
 * shim's socket, as containerd does, and checks the new memory limit in Stats. Checkpoint goes through `ctr task
 * checkpoint`: where CRIU cannot work (`criu check` fails on this project's CI kernel) husk answers NotImplemented.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import {
  apiRegistry,
  type CgroupsV1Metrics,
  OciTypeUrl,
  packJsonAny,
  StatsRequestSchema,
  TaskService,
  UpdateTaskRequestSchema,
  unpackAny,
} from "../../src/api/index.js";
import { createTtrpcClient, isTtrpcError } from "../../src/ttrpc/index.js";
import { useContainerd } from "./support/fixture.js";
import { selectedRuntime } from "./support/runtime.js";
import { killAndDelete, runDetached, waitForTaskStatus } from "./support/tasks.js";

const runtime = selectedRuntime();

describe(`e2e ${runtime.name}: update and checkpoint`, () => {
  const fx = useContainerd();

  const runDetachedWithLimit = (id: string): Promise<unknown> =>
    runDetached(fx.containerd, id, { runtime: runtime.name, flags: ["--memory-limit", String(64 << 20)] });
  const remove = (id: string): Promise<void> => killAndDelete(fx.containerd, fx.stream, id);

  it("updates the memory limit of a running task (Update, then Stats)", () =>
    fx.diagnose(async () => {
      const { containerd } = fx;
      const id = containerd.newId("upd");
      await runDetachedWithLimit(id);
      const client = await createTtrpcClient(containerd.shimSocket(id));
      try {
        const task = client.service(TaskService);
        const limitOf = async (): Promise<bigint | undefined> => {
          const stats = await task.stats(create(StatsRequestSchema, { id }));
          assert.ok(stats.stats !== undefined);
          const metrics = unpackAny(stats.stats, apiRegistry) as CgroupsV1Metrics | undefined;
          return metrics?.memory?.usage?.limit;
        };
        assert.equal(await limitOf(), BigInt(64 << 20));
        await task.update(
          create(UpdateTaskRequestSchema, {
            id,
            resources: packJsonAny(OciTypeUrl.LinuxResources, {
              memory: { limit: 32 << 20, swap: 32 << 20 },
            }),
          }),
        );
        assert.equal(await limitOf(), BigInt(32 << 20));
        await assert.rejects(
          task.update(create(UpdateTaskRequestSchema, { id, resources: packJsonAny("some.Other", {}) })),
          (error: unknown) => isTtrpcError(error) && error.code === 3,
        );
        await assert.rejects(
          task.update(
            create(UpdateTaskRequestSchema, {
              id: "nosuch",
              resources: packJsonAny(OciTypeUrl.LinuxResources, {}),
            }),
          ),
          (error: unknown) => isTtrpcError(error) && error.code === 5,
        );
      } finally {
        await client.close();
      }
      await remove(id);
    }));

  it("checkpoints where CRIU works, and answers NotImplemented where it does not", async (t) => {
    if (runtime.flavour !== "husk") {
      t.skip("husk's answer where CRIU cannot work");
      return;
    }
    await fx.diagnose(async () => {
      const { containerd } = fx;
      const id = containerd.newId("ckpt");
      await runDetachedWithLimit(id);
      const result = await containerd.ctr(["tasks", "checkpoint", id]);
      // Probed here with child_process: an e2e test process must never load husk's reaper (it would steal ctr's exits).
      const criuWorks = spawnSync("criu", ["check"], { stdio: "ignore" }).status === 0;
      if (criuWorks) {
        assert.equal(result.status, 0, result.stderr);
      } else {
        assert.notEqual(result.status, 0);
        assert.match(result.stderr, /checkpoint is not supported on this host: criu.*not implemented/s);
      }
      await waitForTaskStatus(containerd, id, "RUNNING");
      await remove(id);
    });
  });

  it("leaves nothing behind", () => fx.containerd.assertNoLeaks());
});
