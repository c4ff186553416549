// Starts the reaper: this file is its own process. Needs root and a cgroup v1 memory hierarchy.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import { type Child, getReaper, runCommand, spawn, watchMemoryOomV1 } from "../../../src/sys/index.js";
import { childrenOfSelf, eventually, openFdCount, withTimeout } from "./helpers.js";

const TIMEOUT_MS = 60_000;
const MEMORY_ROOT = "/sys/fs/cgroup/memory";

/** Our own memory cgroup directory (cgroup v1), or undefined when there is none. */
function ownMemoryCgroup(): string | undefined {
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const [, controllers, path] = line.split(":");
    if (controllers?.split(",").includes("memory") === true && path !== undefined)
      return join(MEMORY_ROOT, path);
  }
  return undefined;
}

const parent = ownMemoryCgroup();
const skip =
  parent === undefined || !existsSync(join(parent, "cgroup.event_control")) || process.getuid?.() !== 0
    ? "needs root and a cgroup v1 memory hierarchy"
    : false;
let fdsBefore = 0;

before(async () => {
  await spawn({ file: "/bin/true" }).exit;
  fdsBefore = openFdCount();
});

after(() => {
  assert.equal(openFdCount(), fdsBefore, "fd count after the tests equals the count before");
  assert.deepEqual(
    childrenOfSelf().filter((c) => c.state === "Z"),
    [],
  );
});

/** Removes a cgroup once its last process is gone (rmdir fails with EBUSY until then). */
async function removeCgroup(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  await eventually(
    () => {
      try {
        rmdirSync(dir);
        return true;
      } catch (error) {
        if ((error as { code?: string }).code === "ENOENT") return true;
        return false;
      }
    },
    TIMEOUT_MS,
    `removal of ${dir}`,
  );
}

describe("watchMemoryOomV1", { skip }, () => {
  it("reports the OOM kill of a process in a 16 MiB cgroup", async (t) => {
    const dir = join(parent ?? "", `husk-oom-${process.pid}-${Date.now()}`);
    mkdirSync(dir);
    const running: Child[] = [];
    t.after(async () => {
      for (const child of running) {
        child.kill("SIGKILL");
        await child.exit;
      }
      await removeCgroup(dir);
    });
    writeFileSync(join(dir, "memory.limit_in_bytes"), String(16 * 1024 * 1024));
    if (existsSync(join(dir, "memory.memsw.limit_in_bytes"))) {
      writeFileSync(join(dir, "memory.memsw.limit_in_bytes"), String(16 * 1024 * 1024)); // no swapping out of it
    }
    const counts: number[] = [];
    const watch = watchMemoryOomV1(dir, (count) => counts.push(count));
    t.after(() => {
      watch.close();
    });
    // The shell moves itself into the cgroup, then becomes tail, which buffers /dev/zero (one
    // endless line) until the kernel kills it.
    const child = spawn({
      file: "/bin/sh",
      args: ["-c", `echo $$ > ${join(dir, "cgroup.procs")} && exec tail /dev/zero`],
    });
    running.push(child);
    const exit = await withTimeout(child.exit, TIMEOUT_MS, "OOM kill");
    assert.equal(exit.status, 137);
    assert.equal(exit.signal, 9);
    await eventually(() => counts.length > 0, TIMEOUT_MS, "the OOM event");
    assert.ok(counts.every((c) => c >= 1));
    assert.match(readFileSync(join(dir, "memory.oom_control"), "utf8"), /oom_kill [1-9]/);

    // Removing the cgroup signals the eventfd once more: the watch closes itself, reports nothing.
    const before = counts.length;
    await removeCgroup(dir);
    await withTimeout(spawn({ file: "/bin/true" }).exit, TIMEOUT_MS, "a loop turn");
    assert.equal(counts.length, before);
    watch.close();
    watch.close(); // idempotent
  });

  it("does not keep the event loop alive", async (t) => {
    const dir = join(parent ?? "", `husk-oom-idle-${process.pid}-${Date.now()}`);
    mkdirSync(dir);
    t.after(async () => {
      await removeCgroup(dir);
    });
    const sys = new URL("../../../src/sys/index.js", import.meta.url).href;
    const script = `import { watchMemoryOomV1 } from ${JSON.stringify(sys)};
watchMemoryOomV1(${JSON.stringify(dir)}, () => {});
process.stdout.write("watching");`;
    const res = await runCommand(process.execPath, ["--input-type=module", "-e", script], {
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    assert.equal(res.stdout.toString(), "watching", res.stderr.toString());
    assert.equal(res.status, 0);
  });

  it("throws NotFound for a missing cgroup", () => {
    assert.throws(
      () => watchMemoryOomV1(join(parent ?? "", "husk-no-such-cgroup"), () => {}),
      (e: unknown) => isHuskError(e) && e.code === Code.NotFound,
    );
    assert.equal(getReaper().waiting, 0);
  });
});
