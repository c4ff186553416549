/**
 * Bad input gets a clear, typed error and leaves nothing behind: no runtime container, no work dir, no fd, no
 * reservation (the lab's close() checks runtime containers, zombies and fds).
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import { runCommand } from "../../../src/sys/index.js";
import { type Lab, openLab } from "../../support/lab.js";

async function rejectsWith(promise: Promise<unknown>, code: number, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isHuskError(error), `expected a HuskError, got ${String(error)}`);
    assert.equal(error.code, code, `code of "${error.message}"`);
    assert.match(error.message, pattern);
    return true;
  });
}

describe("bad input", () => {
  let lab: Lab;
  before(async () => {
    lab = await openLab();
  });
  after(async () => {
    await lab.close();
  });

  function assertNothingLeft(id: string): void {
    assert.equal(lab.supervisor.find(id), undefined);
    assert.equal(lab.supervisor.size, 0, "no container and no reservation");
    assert.ok(!existsSync(join(lab.supervisor.stateDir, id)), "no work dir");
  }

  it("rejects invalid container ids", async () => {
    const bundle = await lab.bundle("ids", { args: ["true"] });
    for (const id of ["../x", "", "a".repeat(77), "a..b", "-a", "a b"]) {
      await rejectsWith(lab.supervisor.create({ id, bundle }), Code.InvalidArgument, /id/);
      assertNothingLeft(id);
    }
    // 76 characters is still fine.
    const longest = "a".repeat(76);
    const c = await lab.supervisor.create({ id: longest, bundle, stdio: {} });
    await c.delete();
    assertNothingLeft(longest);
  });

  it("rejects a missing rootfs", async () => {
    const bundle = join(lab.dir, "no-rootfs");
    mkdirSync(bundle);
    writeFileSync(
      join(bundle, "config.json"),
      JSON.stringify({
        ociVersion: "1.0.2",
        process: { args: ["true"], cwd: "/" },
        root: { path: "/nonexistent/rootfs" },
      }),
    );
    await rejectsWith(lab.supervisor.create({ id: lab.id("norootfs"), bundle }), Code.NotFound, /rootfs/);
    assertNothingLeft(lab.id("norootfs"));
  });

  it("rejects a missing bundle and an invalid spec", async () => {
    await rejectsWith(
      lab.supervisor.create({ id: lab.id("nobundle"), bundle: join(lab.dir, "nonexistent") }),
      Code.NotFound,
      /config\.json/,
    );
    const bundle = join(lab.dir, "bad-spec");
    mkdirSync(bundle);
    writeFileSync(join(bundle, "config.json"), "{ not json");
    await rejectsWith(lab.supervisor.create({ id: lab.id("badjson"), bundle }), Code.InvalidArgument, /JSON/);
    writeFileSync(
      join(bundle, "config.json"),
      JSON.stringify({ root: { path: lab.rootfs }, process: { args: [] } }),
    );
    await rejectsWith(lab.supervisor.create({ id: lab.id("noargs"), bundle }), Code.InvalidArgument, /args/);
    assertNothingLeft(lab.id("badjson"));
    assertNothingLeft(lab.id("noargs"));
  });

  it("passes the runtime's own refusal of a spec on as a typed error", async () => {
    const bundle = await lab.bundle("nosuch", { args: ["/nosuch-binary"] });
    await assert.rejects(
      lab.supervisor.create({ id: lab.id("nosuch"), bundle, stdio: {} }),
      (error: unknown) => {
        assert.ok(isHuskError(error));
        assert.notEqual(error.code, Code.Unknown, error.message);
        assert.match(error.message, /nosuch-binary/);
        return true;
      },
    );
    assertNothingLeft(lab.id("nosuch"));
  });

  it("rejects a missing runtime binary", async () => {
    const bundle = await lab.bundle("noruntime", { args: ["true"] });
    await rejectsWith(
      lab.supervisor.create({ id: lab.id("noruntime"), bundle, runtime: { binary: "/nonexistent/runc" } }),
      Code.NotFound,
      /runtime binary/,
    );
    assertNothingLeft(lab.id("noruntime"));
  });

  it("rejects an unknown signal without touching the container", async () => {
    const c = await lab.create("signal", { args: ["sleep", "1000"] }, { stdio: {} });
    await c.start();
    await rejectsWith(c.kill("SIGBOGUS"), Code.InvalidArgument, /signal/);
    await rejectsWith(c.kill(99), Code.InvalidArgument, /signal/);
    assert.equal(c.state().status, "running");
    await c.delete({ force: true });
  });

  it("never removes a runtime container it did not create", async () => {
    // A container of the same id already exists in the runtime (say, left by an earlier process): create must fail
    // with AlreadyExists and leave that container alone.
    const bundle = await lab.bundle("foreign", { args: ["sleep", "1000"] });
    const id = lab.id("foreign");
    // Its init inherits create's stdio: /dev/null, never a pipe we would wait on forever.
    const made = await runCommand("runc", ["--root", lab.runtimeRoot, "create", "--bundle", bundle, id], {
      stdout: "null",
      stderr: "null",
    });
    assert.equal(made.status, 0, "runc create of the foreign container");
    try {
      await rejectsWith(
        lab.supervisor.create({ id, bundle, stdio: {} }),
        Code.AlreadyExists,
        /already exists/,
      );
      const state = await runCommand("runc", ["--root", lab.runtimeRoot, "state", id]);
      assert.equal(state.status, 0, "the foreign container is still there");
      assertNothingLeft(id);
    } finally {
      await runCommand("runc", ["--root", lab.runtimeRoot, "delete", "--force", id]);
    }
  });

  it("rejects a duplicate container id", async () => {
    const c = await lab.create("dup", { args: ["sleep", "1000"] }, { stdio: {} });
    await rejectsWith(
      lab.supervisor.create({ id: c.id, bundle: c.bundle }),
      Code.AlreadyExists,
      /already exists/,
    );
    assert.equal(lab.supervisor.get(c.id), c);
    await c.delete();
  });
});
