import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseKeyValues, UINT64_MAX } from "../../../src/cgroups/parse.js";
import { NS_PER_CLOCK_TICK, parseBlkioEntries, readStatsV1 } from "../../../src/cgroups/v1.js";
import { parseIoStat, readStatsV2 } from "../../../src/cgroups/v2.js";
import { V1_FILES } from "./fixtures-v1.js";
import { V2_FILES } from "./fixtures-v2.js";

const dir = mkdtempSync(join(tmpdir(), "husk-cgroups-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeFiles(target: string, files: Readonly<Record<string, string>>): string {
  mkdirSync(target, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(target, name), content);
  return target;
}

/** Fixture v1 controller directories under `base`, optionally with extra files per controller. */
function v1Dirs(
  base: string,
  extra: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const [controller, files] of Object.entries(V1_FILES)) {
    dirs.set(controller, writeFiles(join(base, controller), { ...files, ...extra[controller] }));
  }
  return dirs;
}

const noDevices = (): Promise<string> => Promise.resolve("");

function fixtureValue(controller: string, file: string): bigint {
  return BigInt((V1_FILES[controller]?.[file] ?? "").trim());
}

function memoryStat(key: string): bigint {
  const value = parseKeyValues(V1_FILES.memory?.["memory.stat"]).get(key);
  assert.notEqual(value, undefined, key);
  return value ?? 0n;
}

describe("cgroup v1 statistics from captured files", () => {
  it("reads pids, cpu, memory and oom control like containerd", async () => {
    const metrics = await readStatsV1(v1Dirs(join(dir, "v1-a")), noDevices);
    assert.deepEqual(metrics.pids, { current: 1n, limit: 100n });
    assert.equal(metrics.cpu.usage.total, fixtureValue("cpuacct", "cpuacct.usage"));
    assert.deepEqual(metrics.cpu.usage.perCpu, [38287034n, 105533037n]);
    // cpuacct.stat "user 4 / system 9" ticks → ns.
    assert.equal(metrics.cpu.usage.user, 4n * NS_PER_CLOCK_TICK);
    assert.equal(metrics.cpu.usage.kernel, 9n * NS_PER_CLOCK_TICK);
    assert.equal(metrics.cpu.usage.kernel, 90_000_000n);
    assert.deepEqual(metrics.cpu.throttling, { periods: 0n, throttledPeriods: 0n, throttledTime: 0n });
    const memory = metrics.memory;
    assert.equal(memory.cache, memoryStat("cache"));
    assert.equal(memory.rss, memoryStat("rss"));
    assert.equal(memory.mappedFile, memoryStat("mapped_file"));
    assert.equal(memory.pgPgIn, memoryStat("pgpgin"));
    assert.equal(memory.pgFault, memoryStat("pgfault"));
    assert.equal(memory.pgMajFault, memoryStat("pgmajfault"));
    assert.equal(memory.activeFile, memoryStat("active_file"));
    assert.equal(memory.hierarchicalMemoryLimit, 33554432n);
    assert.equal(memory.hierarchicalSwapLimit, 9223372036854771712n);
    assert.equal(memory.totalRss, memoryStat("total_rss"));
    assert.equal(memory.totalPgFault, memoryStat("total_pgfault"));
    assert.equal(memory.totalInactiveFile, memoryStat("total_inactive_file"));
    assert.deepEqual(memory.usage, {
      limit: 33554432n,
      usage: fixtureValue("memory", "memory.usage_in_bytes"),
      max: fixtureValue("memory", "memory.max_usage_in_bytes"),
      failcnt: 0n,
    });
    assert.equal(memory.swap.limit, 9223372036854771712n);
    assert.equal(memory.kernel.usage, fixtureValue("memory", "memory.kmem.usage_in_bytes"));
    assert.equal(memory.kernelTcp.limit, 9223372036854771712n);
    assert.deepEqual(metrics.memoryOomControl, { oomKillDisable: 0n, underOom: 0n, oomKill: 0n });
    // This host's blkio has only throttle counters, and they are empty.
    assert.deepEqual(metrics.blkio.ioServiceBytesRecursive, []);
    assert.deepEqual(metrics.hugetlb, []);
    assert.deepEqual(metrics.network, []);
  });

  it("ignores missing files and controllers, and reads pids.max 'max' as 0", async () => {
    const pidsOnly = writeFiles(join(dir, "v1-b", "pids"), { "pids.current": "2\n", "pids.max": "max\n" });
    const metrics = await readStatsV1(new Map([["pids", pidsOnly]]), noDevices);
    assert.deepEqual(metrics.pids, { current: 2n, limit: 0n });
    assert.equal(metrics.memory.usage.usage, 0n);
    assert.equal(metrics.cpu.usage.total, 0n);
    assert.deepEqual(metrics.cpu.usage.perCpu, []);
  });

  it("reads CFQ blkio files, hugetlb page sizes and oom_kill when present", async () => {
    const base = join(dir, "v1-c");
    const dirs = v1Dirs(base, {
      memory: { "memory.oom_control": "oom_kill_disable 0\nunder_oom 1\noom_kill 3\n" },
    });
    dirs.set(
      "blkio",
      writeFiles(join(base, "blkio-cfq"), {
        "blkio.io_serviced_recursive": "8:0 Read 3\n8:0 Write 5\n8:0 Total 8\nTotal 8\n",
        "blkio.io_service_bytes_recursive": "8:0 Read 12288\n8:0 Write 20480\nTotal 32768\n",
        "blkio.time_recursive": "8:0 1234\n",
      }),
    );
    dirs.set(
      "hugetlb",
      writeFiles(join(base, "hugetlb"), {
        "hugetlb.2MB.usage_in_bytes": "2097152\n",
        "hugetlb.2MB.max_usage_in_bytes": "4194304\n",
        "hugetlb.2MB.failcnt": "1\n",
        "hugetlb.1GB.usage_in_bytes": "0\n",
      }),
    );
    const names = (major: bigint, minor: bigint): Promise<string> =>
      Promise.resolve(`/dev/b${major}-${minor}`);
    const metrics = await readStatsV1(dirs, names);
    assert.deepEqual(metrics.memoryOomControl, { oomKillDisable: 0n, underOom: 1n, oomKill: 3n });
    assert.deepEqual(metrics.blkio.ioServicedRecursive, [
      { op: "Read", device: "/dev/b8-0", major: 8n, minor: 0n, value: 3n },
      { op: "Write", device: "/dev/b8-0", major: 8n, minor: 0n, value: 5n },
      { op: "Total", device: "/dev/b8-0", major: 8n, minor: 0n, value: 8n },
    ]);
    assert.equal(metrics.blkio.ioServiceBytesRecursive.length, 2);
    assert.deepEqual(metrics.blkio.ioTimeRecursive, [
      { op: "", device: "/dev/b8-0", major: 8n, minor: 0n, value: 1234n },
    ]);
    assert.deepEqual(metrics.hugetlb, [
      { usage: 0n, max: 0n, failcnt: 0n, pagesize: "1GB" },
      { usage: 2097152n, max: 4194304n, failcnt: 1n, pagesize: "2MB" },
    ]);
  });

  it("parses throttle-style blkio lines", async () => {
    const entries = await parseBlkioEntries("254:0 Read 4096\n254:0 Sync 4096\nTotal 4096\n", noDevices);
    assert.deepEqual(
      entries.map((e) => [e.op, e.major, e.minor, e.value]),
      [
        ["Read", 254n, 0n, 4096n],
        ["Sync", 254n, 0n, 4096n],
      ],
    );
  });
});

describe("cgroup v2 statistics from synthetic files", () => {
  it("reads every v2 file and maps max to 2^64-1", async () => {
    const metrics = await readStatsV2(writeFiles(join(dir, "v2-a"), V2_FILES));
    assert.deepEqual(metrics.pids, { current: 3n, limit: UINT64_MAX });
    assert.deepEqual(metrics.cpu, {
      usageUsec: 250000n,
      userUsec: 150000n,
      systemUsec: 100000n,
      nrPeriods: 10n,
      nrThrottled: 2n,
      throttledUsec: 3000n,
    });
    assert.equal(metrics.memory.anon, 1048576n);
    assert.equal(metrics.memory.file, 524288n);
    assert.equal(metrics.memory.kernelStack, 16384n);
    assert.equal(metrics.memory.slabReclaimable, 32768n);
    assert.equal(metrics.memory.pgfault, 1500n);
    assert.equal(metrics.memory.pgactivate, 5n);
    // Split workingset counters are summed when the total is absent.
    assert.equal(metrics.memory.workingsetRefault, 5n);
    assert.equal(metrics.memory.workingsetActivate, 2n);
    assert.equal(metrics.memory.usage, 2097152n);
    assert.equal(metrics.memory.usageLimit, 16777216n);
    assert.equal(metrics.memory.swapUsage, 0n);
    assert.equal(metrics.memory.swapLimit, UINT64_MAX);
    assert.deepEqual(metrics.memoryEvents, { low: 0n, high: 0n, max: 4n, oom: 1n, oomKill: 1n });
    assert.deepEqual(metrics.io.usage, [
      { major: 254n, minor: 0n, rbytes: 4096n, wbytes: 8192n, rios: 1n, wios: 2n },
      { major: 8n, minor: 16n, rbytes: 1n, wbytes: 0n, rios: 1n, wios: 0n },
    ]);
    assert.deepEqual(metrics.hugetlb, [
      { current: 1073741824n, max: 2147483648n, pagesize: "1GB" },
      { current: 0n, max: UINT64_MAX, pagesize: "2MB" },
    ]);
    assert.deepEqual(metrics.rdma.current, [{ device: "mlx4_0", hcaHandles: 2, hcaObjects: 2000 }]);
    assert.deepEqual(metrics.rdma.limit, [
      { device: "mlx4_0", hcaHandles: 0xffffffff, hcaObjects: 0xffffffff },
    ]);
  });

  it("reads missing files as zero", async () => {
    const metrics = await readStatsV2(writeFiles(join(dir, "v2-b"), { "pids.current": "1\n" }));
    assert.deepEqual(metrics.pids, { current: 1n, limit: 0n });
    assert.equal(metrics.memory.usage, 0n);
    assert.deepEqual(metrics.io.usage, []);
    assert.deepEqual(metrics.hugetlb, []);
    assert.deepEqual(parseIoStat(undefined), []);
  });
});
