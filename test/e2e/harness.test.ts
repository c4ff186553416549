/**
 * Tests of the end-to-end harness itself: the parsers and encoders against known bytes, the OCI image writer against
 * the system `tar`, and the leak check against a real leak (so that "leaves nothing behind" can fail). The leak
 * check uses containerd's runc shim whatever E2E_RUNTIME says: it tests the harness, not the runtime.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { createTar, writeOciImage } from "../support/oci-image.js";

import { parseEventLine, taskLabel } from "./support/events.js";
import { useContainerd } from "./support/fixture.js";
import { shimSocketPath } from "./support/procfs.js";
import { decodeDeleteResponse, readVarint } from "./support/protobuf.js";
import { describeRuntime, RUNC_RUNTIME, shimBinaryName } from "./support/runtime.js";
import { waitForTaskStatus } from "./support/tasks.js";

describe("e2e harness: parsers and encoders", () => {
  it("parses ctr events lines, including omitted zero fields", () => {
    const exit = parseEventLine(
      '2026-11-30 03:18:26.58926889 +0000 UTC ns1 /tasks/exit {"container_id":"d1","id":"e2","pid":6457,"exited_at":"2026-11-30T03:18:26.589253501Z"}',
    );
    assert.ok(exit !== undefined);
    assert.equal(exit.namespace, "ns1");
    assert.equal(exit.topic, "/tasks/exit");
    assert.equal(exit.event.exit_status, undefined);
    assert.equal(taskLabel(exit), "exit:e2");
    const added = parseEventLine(
      '2026-11-30 03:18:26 +0000 UTC ns1 /tasks/exec-added {"container_id":"d1","exec_id":"e1"}',
    );
    assert.equal(added === undefined ? "" : taskLabel(added), "exec-added:e1");
    assert.equal(parseEventLine("ctr: rpc error: code = Unavailable desc = transport is closing"), undefined);
  });

  it("decodes a DeleteResponse captured from containerd-shim-runc-v2 and rejects stray output", () => {
    const bytes = Buffer.from("08d2890110890 11a0b0884a9b3d80610ffa5f03b".replaceAll(" ", ""), "hex");
    const response = decodeDeleteResponse(bytes);
    assert.equal(response.pid, 17618);
    assert.equal(response.exitStatus, 137);
    assert.equal(response.exitedAt?.seconds, 1796002948n);
    assert.throws(() => decodeDeleteResponse(Buffer.from('time="x" level=info\n')));
    assert.throws(() => decodeDeleteResponse(bytes.subarray(0, bytes.length - 1)));
    assert.deepEqual(readVarint(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), 0), {
      value: 0xffffffffn,
      next: 5,
    });
  });

  it("computes shim socket paths and binary names like containerd", () => {
    assert.equal(
      shimSocketPath("/tmp/ctrd-test/containerd.sock", "speca", "t1"),
      "/run/containerd/s/fe45dd23c2e172cf9d0f46a1d16a904cc56d7a088aca9703877ef5cd2cec35be",
    );
    assert.equal(shimBinaryName("io.containerd.runc.v2"), "containerd-shim-runc-v2");
    assert.equal(shimBinaryName("io.containerd.husk.v2"), "containerd-shim-husk-v2");
    assert.equal(shimBinaryName("/usr/bin/containerd-shim-runc-v2"), "containerd-shim-runc-v2");
    assert.equal(describeRuntime(RUNC_RUNTIME).flavour, "runc");
  });
});

describe("e2e harness: tar and OCI image writer", () => {
  const dir = mkdtempSync(join(tmpdir(), "husk-e2e-harness-"));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes a tar the system tar extracts: long names, symlinks, modes", () => {
    const long = `${"d".repeat(60)}/${"e".repeat(60)}/file-with-a-long-name.txt`;
    const tar = createTar([
      { path: "bin", type: "directory", mode: 0o755 },
      { path: "bin/tool", type: "file", mode: 0o755, data: Buffer.from("#!/bin/sh\n") },
      { path: "bin/alias", type: "symlink", mode: 0o777, linkTarget: "tool" },
      { path: long, type: "file", mode: 0o600, data: Buffer.alloc(1000, 7) },
    ]);
    assert.equal(tar.length % 512, 0);
    const out = join(dir, "x");
    mkdirSync(out);
    writeFileSync(join(dir, "x.tar"), tar);
    const result = spawnSync("tar", ["-xf", join(dir, "x.tar"), "-C", out], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(readFileSync(join(out, "bin/alias"), "utf8"), "#!/bin/sh\n");
    assert.deepEqual(readFileSync(join(out, long)), Buffer.alloc(1000, 7));
    const listing = spawnSync("tar", ["-tvf", join(dir, "x.tar")], { encoding: "utf8" }).stdout;
    assert.match(listing, /^-rwxr-xr-x root\/root\s+10 .* bin\/tool$/m);
  });

  it("writes an OCI layout whose digests and diff_ids are consistent", () => {
    const rootfs = join(dir, "rootfs");
    mkdirSync(join(rootfs, "bin"), { recursive: true });
    writeFileSync(join(rootfs, "bin/hello"), "hello\n");
    symlinkSync("hello", join(rootfs, "bin/hi"));
    const image = writeOciImage({
      rootfsDir: rootfs,
      outFile: join(dir, "image.tar"),
      name: "docker.io/x/y:z",
    });
    const out = join(dir, "layout");
    mkdirSync(out);
    assert.equal(spawnSync("tar", ["-xf", image.file, "-C", out]).status, 0);
    const blob = (digest: string): Buffer => readFileSync(join(out, "blobs/sha256", digest.slice(7)));
    const sha = (bytes: Buffer): string => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const index = JSON.parse(readFileSync(join(out, "index.json"), "utf8")) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    assert.equal(index.manifests.length, 1);
    const [entry] = index.manifests;
    assert.ok(entry !== undefined);
    assert.equal(entry.digest, image.manifestDigest);
    assert.equal(entry.annotations["io.containerd.image.name"], "docker.io/x/y:z");
    for (const digest of [image.manifestDigest, image.configDigest, image.layerDigest]) {
      assert.equal(sha(blob(digest)), digest);
    }
    assert.equal(sha(gunzipSync(blob(image.layerDigest))), image.diffId);
    const config = JSON.parse(blob(image.configDigest).toString("utf8")) as {
      rootfs: { diff_ids: string[] };
    };
    assert.deepEqual(config.rootfs.diff_ids, [image.diffId]);
  });
});

describe("e2e harness: the leak check sees a leak", () => {
  const fx = useContainerd({ name: "husk-e2e-harness", events: false });

  it("reports a running task, its shim and socket, then passes once they are gone", async () => {
    const { containerd } = fx;
    const id = containerd.newId("leak");
    await containerd.ctrOk([
      "run",
      "-d",
      "--runtime",
      RUNC_RUNTIME,
      "--rootfs",
      containerd.rootfs(),
      id,
      "/bin/sleep",
      "100000",
    ]);
    await waitForTaskStatus(containerd, id, "RUNNING");
    const leak = await containerd.assertNoLeaks(500).then(
      () => "",
      (error: unknown) => String(error),
    );
    assert.match(leak, new RegExp(`tasks left in ${containerd.namespace}: ${id}`));
    assert.match(leak, /processes of ours alive/);
    assert.match(leak, new RegExp(`shim sockets left: ${containerd.shimSocket(id)}`));
    assert.match(leak, new RegExp(`containers under ${containerd.runtimeRoot()}: ${id}`));
    await containerd.ctrOk(["tasks", "kill", "-s", "SIGKILL", id]);
    await containerd.ctrOk(["tasks", "delete", "-f", id]);
    await containerd.ctrOk(["containers", "delete", id]);
    await containerd.assertNoLeaks();
  });
});
