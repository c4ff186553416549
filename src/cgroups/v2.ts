/**
 * cgroup v2 statistics: one directory per cgroup in the unified hierarchy. Missing files read as zero.
 *
 * containerd counterpart: `cgroups/cgroup2` `Manager.Stat`.
 */
import { join } from "node:path";
import type { HugeTlbStatV2, IOEntry, MemoryEvents, MemoryStatV2, MetricsV2 } from "./metrics.js";
import { parseKeyValues, parseNestedKeyed, parseUint64, readOptional } from "./parse.js";
import { listPageSizes, parseRdmaEntries } from "./v1.js";

/** Parses memory.events (`low`, `high`, `max`, `oom`, `oom_kill`). */
export function parseMemoryEvents(text: string | undefined): MemoryEvents {
  const values = parseKeyValues(text);
  return {
    low: values.get("low") ?? 0n,
    high: values.get("high") ?? 0n,
    max: values.get("max") ?? 0n,
    oom: values.get("oom") ?? 0n,
    oomKill: values.get("oom_kill") ?? 0n,
  };
}

/** Parses io.stat (`MAJ:MIN rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…`). */
export function parseIoStat(text: string | undefined): IOEntry[] {
  const entries: IOEntry[] = [];
  for (const { name, values } of parseNestedKeyed(text)) {
    const numbers = /^(\d+):(\d+)$/.exec(name);
    if (numbers === null) continue;
    entries.push({
      major: BigInt(numbers[1] as string),
      minor: BigInt(numbers[2] as string),
      rbytes: parseUint64(values.get("rbytes")),
      wbytes: parseUint64(values.get("wbytes")),
      rios: parseUint64(values.get("rios")),
      wios: parseUint64(values.get("wios")),
    });
  }
  return entries;
}

/** Reads every v2 statistic of the cgroup directory `dir`. */
export async function readStatsV2(dir: string): Promise<MetricsV2> {
  const read = (name: string): Promise<string | undefined> => readOptional(join(dir, name));
  const [
    pidsCurrent,
    pidsMax,
    cpuStat,
    memoryStat,
    memoryCurrent,
    memoryMax,
    swapCurrent,
    swapMax,
    memoryEvents,
    ioStat,
    rdmaCurrent,
    rdmaMax,
    hugetlb,
  ] = await Promise.all([
    read("pids.current"),
    read("pids.max"),
    read("cpu.stat"),
    read("memory.stat"),
    read("memory.current"),
    read("memory.max"),
    read("memory.swap.current"),
    read("memory.swap.max"),
    read("memory.events"),
    read("io.stat"),
    read("rdma.current"),
    read("rdma.max"),
    readHugetlbV2(dir),
  ]);
  const cpu = parseKeyValues(cpuStat);
  return {
    pids: { current: parseUint64(pidsCurrent), limit: parseUint64(pidsMax) },
    cpu: {
      usageUsec: cpu.get("usage_usec") ?? 0n,
      userUsec: cpu.get("user_usec") ?? 0n,
      systemUsec: cpu.get("system_usec") ?? 0n,
      nrPeriods: cpu.get("nr_periods") ?? 0n,
      nrThrottled: cpu.get("nr_throttled") ?? 0n,
      throttledUsec: cpu.get("throttled_usec") ?? 0n,
    },
    memory: memoryStatV2(memoryStat, {
      usage: parseUint64(memoryCurrent),
      usageLimit: parseUint64(memoryMax),
      swapUsage: parseUint64(swapCurrent),
      swapLimit: parseUint64(swapMax),
    }),
    rdma: { current: parseRdmaEntries(rdmaCurrent), limit: parseRdmaEntries(rdmaMax) },
    io: { usage: parseIoStat(ioStat) },
    hugetlb,
    memoryEvents: parseMemoryEvents(memoryEvents),
  };
}

function memoryStatV2(
  text: string | undefined,
  usage: Pick<MemoryStatV2, "usage" | "usageLimit" | "swapUsage" | "swapLimit">,
): MemoryStatV2 {
  const stat = parseKeyValues(text);
  const get = (key: string): bigint => stat.get(key) ?? 0n;
  return {
    anon: get("anon"),
    file: get("file"),
    kernelStack: get("kernel_stack"),
    slab: get("slab"),
    sock: get("sock"),
    shmem: get("shmem"),
    fileMapped: get("file_mapped"),
    fileDirty: get("file_dirty"),
    fileWriteback: get("file_writeback"),
    anonThp: get("anon_thp"),
    inactiveAnon: get("inactive_anon"),
    activeAnon: get("active_anon"),
    inactiveFile: get("inactive_file"),
    activeFile: get("active_file"),
    unevictable: get("unevictable"),
    slabReclaimable: get("slab_reclaimable"),
    slabUnreclaimable: get("slab_unreclaimable"),
    pgfault: get("pgfault"),
    pgmajfault: get("pgmajfault"),
    // Kernels ≥ 5.9 split these into _anon and _file; report the sum when the total is absent.
    workingsetRefault:
      stat.get("workingset_refault") ?? get("workingset_refault_anon") + get("workingset_refault_file"),
    workingsetActivate:
      stat.get("workingset_activate") ?? get("workingset_activate_anon") + get("workingset_activate_file"),
    workingsetNodereclaim: get("workingset_nodereclaim"),
    pgrefill: get("pgrefill"),
    pgscan: get("pgscan"),
    pgsteal: get("pgsteal"),
    pgactivate: get("pgactivate"),
    pgdeactivate: get("pgdeactivate"),
    pglazyfree: get("pglazyfree"),
    pglazyfreed: get("pglazyfreed"),
    thpFaultAlloc: get("thp_fault_alloc"),
    thpCollapseAlloc: get("thp_collapse_alloc"),
    ...usage,
  };
}

async function readHugetlbV2(dir: string): Promise<HugeTlbStatV2[]> {
  const sizes = await listPageSizes(dir, /^hugetlb\.([^.]+)\.current$/);
  return Promise.all(
    sizes.map(async (pagesize) => {
      const [current, max] = await Promise.all([
        readOptional(join(dir, `hugetlb.${pagesize}.current`)),
        readOptional(join(dir, `hugetlb.${pagesize}.max`)),
      ]);
      return { current: parseUint64(current), max: parseUint64(max), pagesize };
    }),
  );
}
