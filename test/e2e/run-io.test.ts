/**
 * Scenario 1: `ctr run --rm` keeps stdout and stderr apart, passes the exit code through, and moves 64 MiB of stdout
 * intact; the same through an imported image (Create then carries rootfs mounts) and with the runtime given as an
 * absolute shim path.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { describeResult } from "./support/ctr.js";
import { numberField, stringField } from "./support/events.js";
import { useContainerd } from "./support/fixture.js";
import { byAbsolutePath, selectedRuntime } from "./support/runtime.js";

const runtime = selectedRuntime();
const STREAM_BYTES = 64 * 1024 * 1024;

describe(`e2e ${runtime.name}: ctr run IO and exit codes`, () => {
  const fx = useContainerd();

  /** Waits for the `/tasks/delete` of `id` and returns its task event labels. */
  async function finished(id: string): Promise<string[]> {
    const { stream } = fx;
    await stream.waitFor((e) => e.topic === "/tasks/delete" && stringField(e, "container_id") === id);
    return stream.taskSequence(id);
  }

  it("streams stdout and stderr separately and returns the exit code (rootfs dir)", () =>
    fx.diagnose(async () => {
      const { containerd, stream } = fx;
      const id = containerd.newId("io");
      const result = await containerd.ctr([
        "run",
        "--rm",
        "--runtime",
        runtime.name,
        "--rootfs",
        containerd.rootfs(),
        id,
        "/bin/sh",
        "-c",
        "echo out; echo err >&2; exit 7",
      ]);
      assert.equal(result.status, 7, describeResult(result));
      assert.equal(result.stdout, "out\n");
      assert.equal(result.stderr, "err\n");
      assert.deepEqual(await finished(id), ["create", "start", `exit:${id}`, "delete"]);
      const [create] = stream.eventsFor(id).filter((e) => e.topic === "/tasks/create");
      assert.ok(create !== undefined);
      // `--rootfs DIR`: Create has no rootfs mounts, so the event has none either.
      assert.equal(create.event.rootfs, undefined, create.line);
      const exit = stream.eventsFor(id).find((e) => e.topic === "/tasks/exit");
      const deleted = stream.eventsFor(id).find((e) => e.topic === "/tasks/delete");
      assert.ok(exit !== undefined && deleted !== undefined);
      assert.equal(numberField(exit, "exit_status"), 7);
      assert.equal(numberField(deleted, "exit_status"), 7);
      assert.equal(numberField(exit, "pid"), numberField(create, "pid"));
    }));

  it("runs from an imported OCI image: rootfs mounts reach the shim, exit code comes back", () =>
    fx.diagnose(async () => {
      const { containerd, stream } = fx;
      const image = await containerd.busyboxImage();
      const id = containerd.newId("img");
      const result = await containerd.ctr([
        "run",
        "--rm",
        "--runtime",
        runtime.name,
        image,
        id,
        "sh",
        "-c",
        "echo from-image; test -x /bin/busybox && exit 4",
      ]);
      assert.equal(result.status, 4, describeResult(result));
      assert.equal(result.stdout, "from-image\n");
      assert.equal(result.stderr, "");
      assert.deepEqual(await finished(id), ["create", "start", `exit:${id}`, "delete"]);
      const create = stream.eventsFor(id).find((e) => e.topic === "/tasks/create");
      assert.ok(create !== undefined);
      const mounts = create.event.rootfs;
      assert.ok(Array.isArray(mounts) && mounts.length > 0, `rootfs mounts in ${create.line}`);
      assert.equal((mounts[0] as { type?: unknown }).type, "overlay", create.line);
    }));

  it("moves 64 MiB of stdout intact (sha256 computed inside the container and here)", () =>
    fx.diagnose(async () => {
      const { containerd } = fx;
      const image = await containerd.busyboxImage();
      const id = containerd.newId("bulk");
      const hash = createHash("sha256");
      let received = 0;
      const result = await containerd.ctr(
        [
          "run",
          "--rm",
          "--runtime",
          runtime.name,
          image,
          id,
          "sh",
          "-c",
          `head -c ${STREAM_BYTES} /dev/urandom > /tmp/blob && sha256sum /tmp/blob >&2 && cat /tmp/blob`,
        ],
        {
          onStdout: (chunk) => {
            received += chunk.length;
            hash.update(chunk);
          },
          timeoutMs: 300_000,
        },
      );
      assert.equal(result.status, 0, describeResult(result));
      assert.equal(received, STREAM_BYTES);
      const inside = /^([0-9a-f]{64}) {2}\/tmp\/blob\n$/.exec(result.stderr);
      assert.ok(inside !== null, `sha256sum line on stderr, got ${JSON.stringify(result.stderr)}`);
      assert.equal(hash.digest("hex"), inside[1]);
    }));

  it("accepts the runtime as an absolute shim path", () =>
    fx.diagnose(async () => {
      const { containerd, stream } = fx;
      const byPath = byAbsolutePath(runtime);
      const id = containerd.newId("path");
      const result = await containerd.ctr([
        "run",
        "--rm",
        "--runtime",
        byPath.name,
        "--rootfs",
        containerd.rootfs(),
        id,
        "/bin/sh",
        "-c",
        "echo via-path; exit 3",
      ]);
      assert.equal(result.status, 3, describeResult(result));
      assert.equal(result.stdout, "via-path\n");
      assert.deepEqual(await finished(id), ["create", "start", `exit:${id}`, "delete"]);
      const created = stream.eventsFor(id).find((e) => e.topic === "/containers/create");
      assert.ok(created !== undefined);
      assert.equal((created.event.runtime as { name?: unknown } | undefined)?.name, byPath.absolutePath);
    }));

  it("leaves nothing behind", () => fx.diagnose(() => fx.containerd.assertNoLeaks()));
});
