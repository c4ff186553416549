/**
 * cgroup v1 statistics: each controller has its own hierarchy (and, on hosts like ours, possibly a
 * different path per controller), so the reader takes one directory per controller. Files that do not
 * exist are skipped, like containerd's `IgnoreNotExist`.
 *
 * containerd counterpart: `cgroups/cgroup1` (`pids.go`, `cpuacct.go`, `cpu.go`, `memory.go`,
 * `blkio.go`, `hugetlb.go`, `rdma.go`) via `Cgroup.Stat(IgnoreNotExist)`.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { errnoOf } from "../errors.js";
import type {
  BlkIOEntry,
  BlkIOStat,
  CpuStatV1,
  HugetlbStatV1,
  MemoryEntryV1,
  MemoryOomControl,
  MemoryStatV1,
  MetricsV1,
  PidsStat,
  RdmaEntry,
  RdmaStat,
} from "./metrics.js";
import { parseKeyValues, parseNestedKeyed, parseUint64, parseUintList, readOptional } from "./parse.js";

/** Nanoseconds per USER_HZ clock tick (USER_HZ is 100 on every Linux ABI). */
export const NS_PER_CLOCK_TICK = 10_000_000n;

/** Directory of each v1 controller for one cgroup, e.g. `memory` → `/sys/fs/cgroup/memory/a/b`. */
export type ControllerDirs = ReadonlyMap<string, string>;

/** Turns a block device number into a device path ("" if unknown). */
export type DeviceNamer = (major: bigint, minor: bigint) => Promise<string>;

/** Reads every v1 statistic of one cgroup. Controllers without a directory contribute zeros. */
export async function readStatsV1(
  dirs: ControllerDirs,
  deviceName: DeviceNamer = sysfsDeviceName,
): Promise<MetricsV1> {
  const [pids, cpu, memory, memoryOomControl, blkio, hugetlb, rdma] = await Promise.all([
    readPids(dirs.get("pids")),
    readCpu(dirs.get("cpu"), dirs.get("cpuacct")),
    readMemory(dirs.get("memory")),
    readOomControl(dirs.get("memory")),
    readBlkio(dirs.get("blkio"), deviceName),
    readHugetlb(dirs.get("hugetlb")),
    readRdma(dirs.get("rdma")),
  ]);
  return {
    hugetlb,
    pids,
    cpu,
    memory,
    blkio,
    rdma,
    network: [],
    cgroupStats: { nrSleeping: 0n, nrRunning: 0n, nrStopped: 0n, nrUninterruptible: 0n, nrIoWait: 0n },
    memoryOomControl,
  };
}

function file(dir: string | undefined, name: string): Promise<string | undefined> {
  return dir === undefined ? Promise.resolve(undefined) : readOptional(join(dir, name));
}

async function readPids(dir: string | undefined): Promise<PidsStat> {
  const [current, max] = await Promise.all([file(dir, "pids.current"), file(dir, "pids.max")]);
  // v1 reports "max" (no limit) as 0, as containerd does.
  return { current: parseUint64(current), limit: parseUint64(max, 0n) };
}

async function readCpu(cpuDir: string | undefined, cpuacctDir: string | undefined): Promise<CpuStatV1> {
  const [usage, perCpu, stat, throttle] = await Promise.all([
    file(cpuacctDir, "cpuacct.usage"),
    file(cpuacctDir, "cpuacct.usage_percpu"),
    file(cpuacctDir, "cpuacct.stat"),
    file(cpuDir, "cpu.stat"),
  ]);
  const ticks = parseKeyValues(stat);
  const throttling = parseKeyValues(throttle);
  return {
    usage: {
      total: parseUint64(usage),
      kernel: (ticks.get("system") ?? 0n) * NS_PER_CLOCK_TICK,
      user: (ticks.get("user") ?? 0n) * NS_PER_CLOCK_TICK,
      perCpu: parseUintList(perCpu),
    },
    throttling: {
      periods: throttling.get("nr_periods") ?? 0n,
      throttledPeriods: throttling.get("nr_throttled") ?? 0n,
      throttledTime: throttling.get("throttled_time") ?? 0n,
    },
  };
}

async function readMemoryEntry(dir: string | undefined, prefix: string): Promise<MemoryEntryV1> {
  const [usage, limit, max, failcnt] = await Promise.all([
    file(dir, `${prefix}.usage_in_bytes`),
    file(dir, `${prefix}.limit_in_bytes`),
    file(dir, `${prefix}.max_usage_in_bytes`),
    file(dir, `${prefix}.failcnt`),
  ]);
  return {
    limit: parseUint64(limit),
    usage: parseUint64(usage),
    max: parseUint64(max),
    failcnt: parseUint64(failcnt),
  };
}

async function readMemory(dir: string | undefined): Promise<MemoryStatV1> {
  const [statText, usage, swap, kernel, kernelTcp] = await Promise.all([
    file(dir, "memory.stat"),
    readMemoryEntry(dir, "memory"),
    readMemoryEntry(dir, "memory.memsw"),
    readMemoryEntry(dir, "memory.kmem"),
    readMemoryEntry(dir, "memory.kmem.tcp"),
  ]);
  const stat = parseKeyValues(statText);
  const get = (key: string): bigint => stat.get(key) ?? 0n;
  return {
    cache: get("cache"),
    rss: get("rss"),
    rssHuge: get("rss_huge"),
    mappedFile: get("mapped_file"),
    dirty: get("dirty"),
    writeback: get("writeback"),
    pgPgIn: get("pgpgin"),
    pgPgOut: get("pgpgout"),
    pgFault: get("pgfault"),
    pgMajFault: get("pgmajfault"),
    inactiveAnon: get("inactive_anon"),
    activeAnon: get("active_anon"),
    inactiveFile: get("inactive_file"),
    activeFile: get("active_file"),
    unevictable: get("unevictable"),
    hierarchicalMemoryLimit: get("hierarchical_memory_limit"),
    hierarchicalSwapLimit: get("hierarchical_memsw_limit"),
    totalCache: get("total_cache"),
    totalRss: get("total_rss"),
    totalRssHuge: get("total_rss_huge"),
    totalMappedFile: get("total_mapped_file"),
    totalDirty: get("total_dirty"),
    totalWriteback: get("total_writeback"),
    totalPgPgIn: get("total_pgpgin"),
    totalPgPgOut: get("total_pgpgout"),
    totalPgFault: get("total_pgfault"),
    totalPgMajFault: get("total_pgmajfault"),
    totalInactiveAnon: get("total_inactive_anon"),
    totalActiveAnon: get("total_active_anon"),
    totalInactiveFile: get("total_inactive_file"),
    totalActiveFile: get("total_active_file"),
    totalUnevictable: get("total_unevictable"),
    usage,
    swap,
    kernel,
    kernelTcp,
  };
}

/** Parses memory.oom_control (`oom_kill_disable`, `under_oom`, `oom_kill`). */
export function parseOomControl(text: string | undefined): MemoryOomControl {
  const values = parseKeyValues(text);
  return {
    oomKillDisable: values.get("oom_kill_disable") ?? 0n,
    underOom: values.get("under_oom") ?? 0n,
    oomKill: values.get("oom_kill") ?? 0n,
  };
}

async function readOomControl(dir: string | undefined): Promise<MemoryOomControl> {
  return parseOomControl(await file(dir, "memory.oom_control"));
}

/**
 * Parses a blkio stats file: `MAJ:MIN Op value` lines (or `MAJ:MIN value` for time/sectors); the
 * trailing `Total N` line is skipped.
 */
export async function parseBlkioEntries(
  text: string | undefined,
  deviceName: DeviceNamer,
): Promise<BlkIOEntry[]> {
  if (text === undefined) return [];
  const entries: BlkIOEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    const numbers = /^(\d+):(\d+)$/.exec(fields[0] ?? "");
    if (numbers === null) continue;
    const major = BigInt(numbers[1] as string);
    const minor = BigInt(numbers[2] as string);
    const [op, value] = fields.length >= 3 ? [fields[1] ?? "", fields[2]] : ["", fields[1]];
    entries.push({ op, device: await deviceName(major, minor), major, minor, value: parseUint64(value) });
  }
  return entries;
}

async function readBlkio(dir: string | undefined, deviceName: DeviceNamer): Promise<BlkIOStat> {
  const read = async (name: string): Promise<BlkIOEntry[]> =>
    parseBlkioEntries(await file(dir, name), deviceName);
  // CFQ-style files exist only with the CFQ/BFQ-legacy scheduler; otherwise only the throttle
  // counters are kept by the kernel (containerd falls back the same way).
  const cfq = (await file(dir, "blkio.io_serviced_recursive")) !== undefined;
  if (cfq) {
    const [bytes, serviced, queued, serviceTime, waitTime, merged, time, sectors] = await Promise.all([
      read("blkio.io_service_bytes_recursive"),
      read("blkio.io_serviced_recursive"),
      read("blkio.io_queued_recursive"),
      read("blkio.io_service_time_recursive"),
      read("blkio.io_wait_time_recursive"),
      read("blkio.io_merged_recursive"),
      read("blkio.time_recursive"),
      read("blkio.sectors_recursive"),
    ]);
    return {
      ioServiceBytesRecursive: bytes,
      ioServicedRecursive: serviced,
      ioQueuedRecursive: queued,
      ioServiceTimeRecursive: serviceTime,
      ioWaitTimeRecursive: waitTime,
      ioMergedRecursive: merged,
      ioTimeRecursive: time,
      sectorsRecursive: sectors,
    };
  }
  const recursive = (await file(dir, "blkio.throttle.io_serviced_recursive")) !== undefined;
  const suffix = recursive ? "_recursive" : "";
  const [bytes, serviced] = await Promise.all([
    read(`blkio.throttle.io_service_bytes${suffix}`),
    read(`blkio.throttle.io_serviced${suffix}`),
  ]);
  return {
    ioServiceBytesRecursive: bytes,
    ioServicedRecursive: serviced,
    ioQueuedRecursive: [],
    ioServiceTimeRecursive: [],
    ioWaitTimeRecursive: [],
    ioMergedRecursive: [],
    ioTimeRecursive: [],
    sectorsRecursive: [],
  };
}

async function readHugetlb(dir: string | undefined): Promise<HugetlbStatV1[]> {
  if (dir === undefined) return [];
  const sizes = await listPageSizes(dir, /^hugetlb\.([^.]+)\.usage_in_bytes$/);
  return Promise.all(
    sizes.map(async (pagesize) => {
      const [usage, max, failcnt] = await Promise.all([
        file(dir, `hugetlb.${pagesize}.usage_in_bytes`),
        file(dir, `hugetlb.${pagesize}.max_usage_in_bytes`),
        file(dir, `hugetlb.${pagesize}.failcnt`),
      ]);
      return { usage: parseUint64(usage), max: parseUint64(max), failcnt: parseUint64(failcnt), pagesize };
    }),
  );
}

/** Page sizes ("2MB", "1GB") for which `pattern` (capturing the size) matches a file in `dir`, sorted. */
export async function listPageSizes(dir: string, pattern: RegExp): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (errnoOf(error) === "ENOENT" || errnoOf(error) === "ENODEV") return [];
    throw error;
  }
  return names
    .map((name) => pattern.exec(name)?.[1])
    .filter((size): size is string => size !== undefined)
    .sort();
}

/** Parses rdma.current / rdma.max (`dev hca_handle=N hca_object=N`; "max" → 2^32-1). */
export function parseRdmaEntries(text: string | undefined): RdmaEntry[] {
  const toUint32 = (value: string | undefined): number => {
    if (value === "max") return 0xffffffff;
    const parsed = Number(value ?? "0");
    return Number.isInteger(parsed) && parsed >= 0 ? Math.min(parsed, 0xffffffff) : 0;
  };
  return parseNestedKeyed(text).map(({ name, values }) => ({
    device: name,
    hcaHandles: toUint32(values.get("hca_handle")),
    hcaObjects: toUint32(values.get("hca_object")),
  }));
}

async function readRdma(dir: string | undefined): Promise<RdmaStat> {
  const [current, limit] = await Promise.all([file(dir, "rdma.current"), file(dir, "rdma.max")]);
  return { current: parseRdmaEntries(current), limit: parseRdmaEntries(limit) };
}

const deviceNames = new Map<string, string>();

/** Device path of a block device from sysfs (`/sys/dev/block/M:m/uevent` DEVNAME), cached; "" if unknown. */
export async function sysfsDeviceName(major: bigint, minor: bigint): Promise<string> {
  const key = `${major}:${minor}`;
  const cached = deviceNames.get(key);
  if (cached !== undefined) return cached;
  let name = "";
  try {
    const uevent = await readFile(`/sys/dev/block/${key}/uevent`, "utf8");
    const devname = /^DEVNAME=(.+)$/m.exec(uevent)?.[1];
    if (devname !== undefined) name = `/dev/${devname}`;
  } catch {
    // Unknown device: containerd leaves the name empty too.
  }
  deviceNames.set(key, name);
  return name;
}
