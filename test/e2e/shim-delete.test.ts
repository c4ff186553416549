/**
 * Scenario 8: the shim binary's `delete` subcommand cleans up a container whose shim daemon was SIGKILLed and prints
 * a binary DeleteResponse. containerd is stopped first (so it cannot run `delete` itself on seeing the daemon die),
 * then the test runs the shim exactly as containerd would (argv, cwd = bundle, stdin /dev/null) and decodes stdout by
 * hand. After containerd comes back it finds the dead bundle and finishes the cleanup.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { useContainerd } from "./support/fixture.js";
import { isAlive, mountsUnder, parentPid } from "./support/procfs.js";
import { type DeleteResponse, decodeDeleteResponse } from "./support/protobuf.js";
import { containerdPath, selectedRuntime } from "./support/runtime.js";
import { waitForTaskStatus, waitUntil } from "./support/tasks.js";

const runtime = selectedRuntime();

/** containerd's executable as containerd passes it in `-publish-binary`. */
function containerdExecutable(): string {
  for (const dir of containerdPath().split(":")) {
    const candidate = join(dir, "containerd");
    if (existsSync(candidate)) return candidate;
  }
  throw new Error("containerd executable not found on PATH");
}

describe(`e2e ${runtime.name}: shim delete subcommand after the daemon died`, () => {
  const fx = useContainerd({ events: false });

  it("cleans up a container whose shim daemon was SIGKILLed and prints a DeleteResponse", (t) =>
    fx.diagnose(async () => {
      const { containerd } = fx;
      const image = await containerd.busyboxImage();
      const id = containerd.newId("orphan");
      await containerd.ctrOk(["run", "-d", "--runtime", runtime.name, image, id, "sleep", "100000"]);
      const task = await waitForTaskStatus(containerd, id, "RUNNING");
      const bundle = containerd.bundleDir(id);
      const rootfs = join(bundle, "rootfs");
      const daemon = parentPid(task.pid);
      assert.ok(daemon !== undefined && daemon > 1);
      assert.deepEqual(mountsUnder(rootfs), [rootfs], "the image rootfs is mounted on the bundle");
      const shimBinary = readFileSync(join(bundle, "shim-binary-path"), "utf8").trim();
      assert.equal(shimBinary, runtime.absolutePath);

      const deletes: { status: number | null; stdout: Buffer; stderr: string; response?: DeleteResponse }[] =
        [];
      const startedAt = Date.now();
      await containerd.restart({
        whileStopped: async () => {
          process.kill(daemon, "SIGKILL");
          await waitUntil(() => !isAlive(daemon), `shim daemon ${daemon} to die`);
          assert.ok(isAlive(task.pid), "the container outlives its shim");
          // Exactly containerd 1.6's invocation (runtime/v2/binary.go Delete).
          const argv = [
            "-namespace",
            containerd.namespace,
            "-address",
            containerd.address,
            "-publish-binary",
            containerdExecutable(),
            "-id",
            id,
            "-bundle",
            bundle,
            "delete",
          ];
          const env = {
            ...process.env,
            PATH: containerdPath(),
            TTRPC_ADDRESS: containerd.ttrpcAddress,
            GOMAXPROCS: "2",
          };
          for (let round = 0; round < 2; round++) {
            const run = spawnSync(shimBinary, argv, {
              cwd: bundle,
              env,
              stdio: ["ignore", "pipe", "pipe"],
              timeout: 60_000,
            });
            deletes.push({ status: run.status, stdout: run.stdout, stderr: run.stderr.toString("utf8") });
          }
        },
      });

      const [first, second] = deletes;
      assert.ok(first !== undefined && second !== undefined);
      t.diagnostic(
        `delete #1 exit ${String(first.status)} stdout ${first.stdout.toString("hex")} stderr ${first.stderr}`,
      );
      t.diagnostic(
        `delete #2 exit ${String(second.status)} stdout ${second.stdout.toString("hex")} stderr ${second.stderr}`,
      );
      assert.equal(first.status, 0, first.stderr);
      const response = decodeDeleteResponse(first.stdout);
      assert.equal(response.pid, task.pid);
      assert.equal(response.exitStatus, 137, "128 + SIGKILL: the container was killed by the cleanup");
      assert.ok(response.exitedAt !== undefined, "exited_at is set");
      const exitedMs = Number(response.exitedAt.seconds) * 1000;
      // Sanity of the value (a real clock reading taken during the cleanup), with a wide margin.
      assert.ok(exitedMs >= startedAt - 60_000 && exitedMs <= Date.now() + 60_000, `exited_at ${exitedMs}`);

      // The cleanup happened: no runtime state, no process, no mount.
      const listed = spawnSync("runc", ["--root", containerd.runtimeRoot(), "list", "-q"], {
        encoding: "utf8",
      });
      assert.ok(!listed.stdout.split("\n").includes(id), `runc still lists ${id}`);
      await waitUntil(() => !isAlive(task.pid), `container init ${task.pid} to be gone`);
      assert.deepEqual(mountsUnder(rootfs), [], "the rootfs is unmounted");

      // Idempotent: a second run succeeds and still prints a well-formed reply.
      assert.equal(second.status, 0, second.stderr);
      assert.equal(decodeDeleteResponse(second.stdout).exitStatus, 137);

      // A SIGKILLed daemon cannot remove its socket. containerd's runc shim leaves it in place through `delete` and
      // containerd's own reload cleanup (an upstream leak); husk's `delete` removes a socket nobody listens on.
      const socket = containerd.shimSocket(id);
      t.diagnostic(`socket after delete: ${existsSync(socket) ? "left behind" : "removed"}`);
      if (runtime.flavour === "runc") {
        assert.ok(existsSync(socket), "runc shim: the dead daemon's socket stays");
        rmSync(socket, { force: true });
      } else {
        assert.ok(!existsSync(socket), "husk: delete removed the dead daemon's socket");
      }

      // containerd, back up, finds the dead bundle, runs `delete` itself and drops the bundle; the task is gone.
      await waitUntil(() => !existsSync(bundle), `containerd to remove bundle ${bundle}`);
      const tasks = await containerd.ctrOk(["tasks", "ls", "-q"]);
      assert.equal(tasks.stdout.trim(), "");
      await containerd.ctrOk(["containers", "delete", id]);
    }));

  it("leaves nothing behind", () => fx.diagnose(() => fx.containerd.assertNoLeaks()));
});
