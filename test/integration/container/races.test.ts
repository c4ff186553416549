/**
 * Exits that race the bookkeeping: a container whose process exits at once is never missed, and an orphaned
 * grandchild — re-parented to us, the subreaper — is reaped.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Spec } from "../../../src/oci/index.js";
import { capture, type Lab, openLab, within } from "../../support/lab.js";

describe("exit races", () => {
  let lab: Lab;
  before(async () => {
    lab = await openLab();
  });
  after(async () => {
    await lab.close();
  });

  it("never misses a container whose process exits immediately (100 times)", async () => {
    const bundle = await lab.bundle("true", { args: ["true"] });
    for (let i = 0; i < 100; i++) {
      const c = await lab.supervisor.create({ id: lab.id(`true-${i}`), bundle, stdio: {} });
      await c.start();
      const exit = await within(c.wait(), 20_000, `exit of run ${i}`);
      assert.equal(exit.status, 0, `run ${i}`);
      await c.delete();
    }
    const exits = lab.events.filter((event) => event.type === "exit" && event.id.startsWith(lab.id("true-")));
    assert.equal(exits.length, 100, "one exit event per container");
  });

  it("reaps an orphaned grandchild of a container sharing our pid namespace", async () => {
    const bundle = await lab.bundle("orphan", { args: ["sh", "-c", "sleep 30 & echo $!; exit 0"] });
    // Without its own pid namespace, the container's orphans are re-parented to us, the nearest subreaper.
    const configPath = join(bundle, "config.json");
    const spec = JSON.parse(readFileSync(configPath, "utf8")) as Spec;
    const namespaces = spec.linux?.namespaces?.filter((ns) => ns.type !== "pid") ?? [];
    writeFileSync(configPath, JSON.stringify({ ...spec, linux: { ...spec.linux, namespaces } }));
    const c = await lab.supervisor.create({
      id: lab.id("orphan"),
      bundle,
      stdio: { stdout: { kind: "pipe" } },
    });
    const out = capture(c.io.stdout);
    await c.start();
    assert.equal((await within(c.wait(), 20_000, "init exit")).status, 0);
    const grandchild = Number.parseInt((await out.ended).toString().trim(), 10);
    assert.ok(grandchild > 0, "the grandchild's host pid");
    // The init exit kills what is left of a container without its own pid namespace; the orphan's exit is ours to reap.
    const deadline = Date.now() + 20_000;
    while (existsSync(`/proc/${grandchild}`)) {
      assert.ok(Date.now() < deadline, `grandchild ${grandchild} was not reaped`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await c.delete();
  });
});
