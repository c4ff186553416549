/**
 * A start that fails in the runtime: a non-sandbox container becomes stopped with exit status 128 and its IO closed;
 * a pod sandbox stays created. The runtime is the real runc behind a wrapper that fails only `start` (fault
 * injection: every other command, including create and delete, is runc's own).
 */
import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isHuskError } from "../../../src/errors.js";
import { capture, type Lab, openLab, within } from "../../support/lab.js";

function failingStartRuntime(dir: string): string {
  const path = join(dir, "runc");
  writeFileSync(
    path,
    `#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = start ]; then echo "injected start failure" >&2; exit 1; fi
done
exec /usr/sbin/runc "$@"
`,
  );
  chmodSync(path, 0o755);
  return path;
}

describe("start failure", () => {
  let lab: Lab;
  before(async () => {
    lab = await openLab();
  });
  after(async () => {
    await lab.close();
  });

  it("stops a non-sandbox container with 128 and closes its IO", async () => {
    const runtime = failingStartRuntime(lab.dir);
    const bundle = await lab.bundle("plain", { args: ["sh", "-c", "echo never"] });
    const c = await lab.supervisor.create({
      id: lab.id("plain"),
      bundle,
      runtime: { binary: runtime },
      stdio: { stdout: { kind: "pipe" } },
    });
    const out = capture(c.io.stdout);
    await assert.rejects(
      c.start(),
      (error: unknown) => isHuskError(error) && /injected start failure/.test(error.message),
    );
    assert.equal(c.state().status, "stopped");
    assert.equal(c.state().exitStatus, 128);
    assert.equal((await within(c.wait(), 10_000, "wait")).status, 128);
    assert.equal((await within(out.ended, 10_000, "stdout closed")).length, 0);
    assert.ok(!lab.events.some((e) => e.type === "start" && e.containerId === c.id), "no start event");
    await c.delete();
  });

  it("keeps a sandbox container created, and it can still be deleted", async () => {
    const runtime = failingStartRuntime(lab.dir);
    const bundle = await lab.bundle("sandbox", {
      args: ["sleep", "1000"],
      annotations: { "io.kubernetes.cri.container-type": "sandbox" },
    });
    const c = await lab.supervisor.create({
      id: lab.id("sandbox"),
      bundle,
      runtime: { binary: runtime },
      stdio: {},
    });
    await assert.rejects(c.start(), (error: unknown) => isHuskError(error));
    assert.equal(c.state().status, "created");
    assert.equal(c.state().exitStatus, undefined);
    await c.delete();
    assert.equal(lab.supervisor.find(c.id), undefined);
  });
});
