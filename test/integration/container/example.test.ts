/** The README's library example runs as shown. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runInContainer } from "../../../examples/run-container.js";
import { makeRootfs } from "../../support/make-rootfs.js";

describe("README library example", () => {
  const dir = mkdtempSync(join(tmpdir(), "husk-example-test-"));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs a command and returns its output and exit status", async () => {
    const rootfs = makeRootfs(join(dir, "rootfs"));
    const result = await runInContainer(rootfs, ["sh", "-c", "echo hello from $(hostname); exit 3"]);
    assert.deepEqual(result, { status: 3, output: "hello from husk\n" });
  });
});
