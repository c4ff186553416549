/**
 * Scenario 6: containerd restarts while a container runs. The shim daemon survives, containerd reconnects to it, and
 * after the restart exec, kill and delete still work, with the exit and delete events seen on a new `ctr events`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeResult } from "./support/ctr.js";
import { events, numberField, stringField } from "./support/events.js";
import { useContainerd } from "./support/fixture.js";
import { isAlive, parentPid } from "./support/procfs.js";
import { selectedRuntime } from "./support/runtime.js";
import { taskRow, waitForTaskStatus } from "./support/tasks.js";

const runtime = selectedRuntime();

describe(`e2e ${runtime.name}: containerd restart`, () => {
  const fx = useContainerd({ events: false });

  it("keeps the task running across a containerd restart; exec, kill and delete work afterwards", () =>
    fx.diagnose(async () => {
      const { containerd } = fx;
      const id = containerd.newId("survivor");
      await containerd.ctrOk([
        "run",
        "-d",
        "--runtime",
        runtime.name,
        "--rootfs",
        containerd.rootfs(),
        id,
        "/bin/sleep",
        "100000",
      ]);
      const before = await waitForTaskStatus(containerd, id, "RUNNING");
      const daemon = parentPid(before.pid);
      assert.ok(daemon !== undefined && daemon > 1);
      const oldContainerd = containerd.pid;

      await containerd.restart({
        whileStopped: () => {
          assert.ok(!isAlive(oldContainerd), "containerd has exited");
          assert.ok(isAlive(daemon), "the shim daemon survives containerd's exit");
          assert.ok(isAlive(before.pid), "the container survives containerd's exit");
        },
      });
      assert.notEqual(containerd.pid, oldContainerd);
      const stream = await events(containerd);
      try {
        const after = await taskRow(containerd, id);
        assert.deepEqual(after, before, "same task, same pid, still RUNNING after the reload");
        assert.equal(parentPid(before.pid), daemon, "still served by the same daemon");

        const exec = await containerd.ctr([
          "tasks",
          "exec",
          "--exec-id",
          "after-restart",
          id,
          "/bin/sh",
          "-c",
          "exit 4",
        ]);
        assert.equal(exec.status, 4, describeResult(exec));

        // Wait and Delete through the restarted containerd: `ctr task attach` waits for the task, deletes it once it
        // has exited (ctr's own behaviour, the same with containerd's runc shim) and exits with its status.
        const attach = containerd.ctrSpawn(["tasks", "attach", id]);
        await containerd.ctrOk(["tasks", "kill", "-s", "SIGKILL", id]);
        const attached = await attach.exited;
        assert.equal(attached.status, 137, `ctr task attach after the restart: ${attach.stderrText()}`);
        const exit = await stream.waitFor(
          (e) =>
            e.topic === "/tasks/exit" && stringField(e, "container_id") === id && stringField(e, "id") === id,
          60_000,
          `the exit of ${id} after the restart`,
        );
        assert.equal(numberField(exit, "exit_status"), 137);
        assert.equal(numberField(exit, "pid"), before.pid);
        const deleted = await stream.waitFor(
          (e) => e.topic === "/tasks/delete" && stringField(e, "container_id") === id,
        );
        assert.equal(numberField(deleted, "exit_status"), 137);
        await containerd.ctrOk(["containers", "delete", id]);
        assert.deepEqual(stream.taskSequence(id), [
          "exec-added:after-restart",
          "exec-started:after-restart",
          "exit:after-restart",
          `exit:${id}`,
          "delete",
        ]);
      } finally {
        await stream.close();
      }
    }));

  it("leaves nothing behind", () => fx.diagnose(() => fx.containerd.assertNoLeaks()));
});
