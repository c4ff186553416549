import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  cgroupVersion,
  openCgroupV1,
  openCgroupV2,
  resolveUnifiedDirectory,
  resolveV1Directories,
} from "../../../src/cgroups/index.js";
import { parseCgroupMounts, parseProcCgroup } from "../../../src/cgroups/parse.js";
import { Code, isHuskError } from "../../../src/errors.js";
import { V1_FILES, V1_MOUNTINFO, V1_PROC_CGROUP } from "./fixtures-v1.js";
import { V2_FILES } from "./fixtures-v2.js";

const dir = mkdtempSync(join(tmpdir(), "husk-cgroup-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeFiles(target: string, files: Readonly<Record<string, string>>): string {
  mkdirSync(target, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(target, name), content);
  return target;
}

/** Resolves with the next value `register` delivers, or rejects after `ms`. */
function nextValue<T>(register: (deliver: (value: T) => void) => void, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no value within ${ms} ms`));
    }, ms);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

describe("resolving a process's cgroup directories", () => {
  it("uses each v1 controller's own path (memory differs on this host)", () => {
    const dirs = resolveV1Directories(parseProcCgroup(V1_PROC_CGROUP), parseCgroupMounts(V1_MOUNTINFO));
    assert.equal(dirs.get("memory"), "/sys/fs/cgroup/memory/process_api/a03293d08c3d9adb3ca9f5e494fd4171/f1");
    assert.equal(dirs.get("cpu"), "/sys/fs/cgroup/cpu/f1");
    assert.equal(dirs.get("cpuacct"), "/sys/fs/cgroup/cpuacct/f1");
    assert.equal(dirs.get("pids"), "/sys/fs/cgroup/pids/f1");
    assert.equal(dirs.has("name=systemd"), false);
    assert.equal(
      resolveUnifiedDirectory(parseProcCgroup(V1_PROC_CGROUP), parseCgroupMounts(V1_MOUNTINFO)),
      "/sys/fs/cgroup/unified/f1",
    );
  });

  it("strips a mount's root and falls back to /sys/fs/cgroup/<controller>", () => {
    const mounts = parseCgroupMounts(
      "50 30 0:40 /kubepods /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n" +
        "51 30 0:41 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
    );
    const dirs = resolveV1Directories(
      parseProcCgroup("3:cpu,cpuacct:/kubepods/pod1/c1\n2:pids:/x\n"),
      mounts,
    );
    assert.equal(dirs.get("cpu"), "/sys/fs/cgroup/cpu,cpuacct/pod1/c1");
    assert.equal(dirs.get("pids"), "/sys/fs/cgroup/pids/x");
    assert.equal(resolveUnifiedDirectory(parseProcCgroup("0::/a/b\n"), mounts), "/sys/fs/cgroup/a/b");
  });
});

describe("cgroupVersion", () => {
  it("tells cgroup2 mounts from everything else", () => {
    assert.equal(cgroupVersion(dir), 1);
    const live = parseCgroupMounts(readFileSync("/proc/self/mountinfo", "utf8")).find(
      (m) => m.fsType === "cgroup2",
    );
    assert.ok(live, "this host has a cgroup2 mount (hybrid: /sys/fs/cgroup/unified)");
    assert.equal(cgroupVersion(live.mountPoint), 2);
  });
});

describe("a v1 cgroup over fixture directories", () => {
  it("reads stats and the oom_kill counter, and notices removal", async () => {
    const base = join(dir, "v1");
    const dirs = new Map<string, string>();
    for (const [controller, files] of Object.entries(V1_FILES))
      dirs.set(controller, writeFiles(join(base, controller), files));
    writeFileSync(
      join(base, "memory", "memory.oom_control"),
      "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
    );
    const cgroup = openCgroupV1(dirs, "/f1");
    assert.equal(cgroup.version, 1);
    assert.equal(cgroup.path, "/f1");
    assert.equal(cgroup.exists(), true);
    const stats = await cgroup.stats();
    assert.equal(stats.version, 1);
    assert.equal(stats.metrics.pids.limit, 100n);
    assert.equal(cgroup.oomKillCount(), 2);
    rmSync(join(base, "memory"), { recursive: true });
    assert.equal(cgroup.exists(), false);
    await assert.rejects(cgroup.stats(), (e: unknown) => isHuskError(e) && e.code === Code.NotFound);
    assert.throws(
      () => cgroup.watchOom(() => undefined),
      (e: unknown) => isHuskError(e) && e.code === Code.NotFound,
    );
    assert.equal(cgroup.oomKillCount(), 0);
  });

  it("refuses to watch without a memory controller", () => {
    const cgroup = openCgroupV1(new Map([["pids", join(dir, "nothing")]]), "/x");
    assert.throws(
      () => cgroup.watchOom(() => undefined),
      (e: unknown) => isHuskError(e) && e.code === Code.NotFound,
    );
  });
});

describe("a v2 cgroup over a synthetic directory", () => {
  it("reads stats and counts oom kills", async () => {
    const cgroupDir = writeFiles(join(dir, "v2-stats"), V2_FILES);
    const cgroup = openCgroupV2(cgroupDir, "/c1");
    assert.deepEqual([...cgroup.directories], [["unified", cgroupDir]]);
    const stats = await cgroup.stats();
    assert.equal(stats.version, 2);
    assert.equal(stats.metrics.memoryEvents.oomKill, 1n);
    assert.equal(cgroup.oomKillCount(), 1);
  });

  it("fires once per oom_kill increase, ignores other changes and stops when the cgroup goes", async () => {
    const cgroupDir = writeFiles(join(dir, "v2-watch"), V2_FILES);
    const eventsFile = join(cgroupDir, "memory.events");
    const cgroup = openCgroupV2(cgroupDir, "/c1");
    const seen: number[] = [];
    let deliver: ((count: number) => void) | undefined;
    const watch = cgroup.watchOom((count) => {
      seen.push(count);
      deliver?.(count);
    });
    after(() => {
      watch.close();
    });
    const first = nextValue<number>((d) => (deliver = d), 5000);
    // "max" and "oom" change without a kill: not an OOM kill.
    writeFileSync(eventsFile, "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n");
    writeFileSync(eventsFile, "low 0\nhigh 0\nmax 9\noom 3\noom_kill 3\n");
    assert.equal(await first, 3);
    const second = nextValue<number>((d) => (deliver = d), 5000);
    writeFileSync(eventsFile, "low 0\nhigh 0\nmax 9\noom 4\noom_kill 4\n");
    assert.equal(await second, 4);
    assert.deepEqual(seen, [3, 4]);
    // Removing the directory is noticed: the watch stops by itself and reports nothing more.
    rmSync(cgroupDir, { recursive: true });
    await nextValue<undefined>((d) => {
      void watch.closed.then(() => {
        d(undefined);
      });
    }, 5000);
    assert.deepEqual(seen, [3, 4]);
    watch.close();
    watch.close();
  });

  it("refuses to watch a cgroup without memory.events", () => {
    const cgroup = openCgroupV2(writeFiles(join(dir, "v2-empty"), {}), "/e");
    assert.throws(
      () => cgroup.watchOom(() => undefined),
      (e: unknown) => isHuskError(e) && e.code === Code.NotFound,
    );
  });
});
