/**
 * cgroup statistics as plain data. Property names and nesting equal the messages protobuf-es generates
 * for containerd's `io.containerd.cgroups.v1.Metrics` and `io.containerd.cgroups.v2.Metrics`
 * (lowerCamelCase of the proto field names; uint64 → `bigint`, uint32 → `number`), so the shim can hand
 * a value straight to `create(MetricsSchema, value)`. Every field is always present (zero when the
 * kernel file is missing). Lists are plain (mutable) arrays because protobuf-es init shapes require
 * that; treat them as read-only.
 *
 * containerd counterpart: `cgroups/stats/v1` and `cgroups/v2/stats` (metrics.proto).
 */

/** v1 hugetlb usage for one page size (`pagesize` like "2MB"). */
export interface HugetlbStatV1 {
  readonly usage: bigint;
  readonly max: bigint;
  readonly failcnt: bigint;
  readonly pagesize: string;
}

/** Process count and limit (limit 0 = unlimited in v1; 2^64-1 in v2, as containerd reports them). */
export interface PidsStat {
  readonly current: bigint;
  readonly limit: bigint;
}

/** CPU time in nanoseconds. */
export interface CpuUsageV1 {
  readonly total: bigint;
  readonly kernel: bigint;
  readonly user: bigint;
  readonly perCpu: bigint[];
}

/** CFS throttling counters (`throttledTime` in nanoseconds). */
export interface ThrottleV1 {
  readonly periods: bigint;
  readonly throttledPeriods: bigint;
  readonly throttledTime: bigint;
}

/** v1 CPU statistics. */
export interface CpuStatV1 {
  readonly usage: CpuUsageV1;
  readonly throttling: ThrottleV1;
}

/** One v1 memory counter set, in bytes (limit 9223372036854771712 = unlimited). */
export interface MemoryEntryV1 {
  readonly limit: bigint;
  readonly usage: bigint;
  readonly max: bigint;
  readonly failcnt: bigint;
}

/** v1 memory statistics: memory.stat (bytes, or page event counts for pg*) plus the four counter sets. */
export interface MemoryStatV1 {
  readonly cache: bigint;
  readonly rss: bigint;
  readonly rssHuge: bigint;
  readonly mappedFile: bigint;
  readonly dirty: bigint;
  readonly writeback: bigint;
  readonly pgPgIn: bigint;
  readonly pgPgOut: bigint;
  readonly pgFault: bigint;
  readonly pgMajFault: bigint;
  readonly inactiveAnon: bigint;
  readonly activeAnon: bigint;
  readonly inactiveFile: bigint;
  readonly activeFile: bigint;
  readonly unevictable: bigint;
  readonly hierarchicalMemoryLimit: bigint;
  readonly hierarchicalSwapLimit: bigint;
  readonly totalCache: bigint;
  readonly totalRss: bigint;
  readonly totalRssHuge: bigint;
  readonly totalMappedFile: bigint;
  readonly totalDirty: bigint;
  readonly totalWriteback: bigint;
  readonly totalPgPgIn: bigint;
  readonly totalPgPgOut: bigint;
  readonly totalPgFault: bigint;
  readonly totalPgMajFault: bigint;
  readonly totalInactiveAnon: bigint;
  readonly totalActiveAnon: bigint;
  readonly totalInactiveFile: bigint;
  readonly totalActiveFile: bigint;
  readonly totalUnevictable: bigint;
  readonly usage: MemoryEntryV1;
  readonly swap: MemoryEntryV1;
  readonly kernel: MemoryEntryV1;
  readonly kernelTcp: MemoryEntryV1;
}

/** One block IO counter (`op` like "Read", "Write", "Total"; empty for time/sectors). */
export interface BlkIOEntry {
  readonly op: string;
  /** Device path, e.g. "/dev/vda" ("" when unknown). */
  readonly device: string;
  readonly major: bigint;
  readonly minor: bigint;
  readonly value: bigint;
}

/** v1 block IO statistics. */
export interface BlkIOStat {
  readonly ioServiceBytesRecursive: BlkIOEntry[];
  readonly ioServicedRecursive: BlkIOEntry[];
  readonly ioQueuedRecursive: BlkIOEntry[];
  readonly ioServiceTimeRecursive: BlkIOEntry[];
  readonly ioWaitTimeRecursive: BlkIOEntry[];
  readonly ioMergedRecursive: BlkIOEntry[];
  readonly ioTimeRecursive: BlkIOEntry[];
  readonly sectorsRecursive: BlkIOEntry[];
}

/** RDMA resource counts of one device. */
export interface RdmaEntry {
  readonly device: string;
  readonly hcaHandles: number;
  readonly hcaObjects: number;
}

/** RDMA usage and limits. */
export interface RdmaStat {
  readonly current: RdmaEntry[];
  readonly limit: RdmaEntry[];
}

/** Network interface counters (not read from cgroups; always empty here). */
export interface NetworkStat {
  readonly name: string;
  readonly rxBytes: bigint;
  readonly rxPackets: bigint;
  readonly rxErrors: bigint;
  readonly rxDropped: bigint;
  readonly txBytes: bigint;
  readonly txPackets: bigint;
  readonly txErrors: bigint;
  readonly txDropped: bigint;
}

/** Task state counts (taskstats; not read, always zero). */
export interface CgroupStatsV1 {
  readonly nrSleeping: bigint;
  readonly nrRunning: bigint;
  readonly nrStopped: bigint;
  readonly nrUninterruptible: bigint;
  readonly nrIoWait: bigint;
}

/** memory.oom_control (`oomKill` needs Linux ≥ 4.13). */
export interface MemoryOomControl {
  readonly oomKillDisable: bigint;
  readonly underOom: bigint;
  readonly oomKill: bigint;
}

/** `io.containerd.cgroups.v1.Metrics`. */
export interface MetricsV1 {
  readonly hugetlb: HugetlbStatV1[];
  readonly pids: PidsStat;
  readonly cpu: CpuStatV1;
  readonly memory: MemoryStatV1;
  readonly blkio: BlkIOStat;
  readonly rdma: RdmaStat;
  readonly network: NetworkStat[];
  readonly cgroupStats: CgroupStatsV1;
  readonly memoryOomControl: MemoryOomControl;
}

/** v2 CPU statistics, in microseconds. */
export interface CpuStatV2 {
  readonly usageUsec: bigint;
  readonly userUsec: bigint;
  readonly systemUsec: bigint;
  readonly nrPeriods: bigint;
  readonly nrThrottled: bigint;
  readonly throttledUsec: bigint;
}

/** v2 memory statistics: memory.stat in bytes (the pg, workingset and thp fields are event counts) + usage. */
export interface MemoryStatV2 {
  readonly anon: bigint;
  readonly file: bigint;
  readonly kernelStack: bigint;
  readonly slab: bigint;
  readonly sock: bigint;
  readonly shmem: bigint;
  readonly fileMapped: bigint;
  readonly fileDirty: bigint;
  readonly fileWriteback: bigint;
  readonly anonThp: bigint;
  readonly inactiveAnon: bigint;
  readonly activeAnon: bigint;
  readonly inactiveFile: bigint;
  readonly activeFile: bigint;
  readonly unevictable: bigint;
  readonly slabReclaimable: bigint;
  readonly slabUnreclaimable: bigint;
  readonly pgfault: bigint;
  readonly pgmajfault: bigint;
  readonly workingsetRefault: bigint;
  readonly workingsetActivate: bigint;
  readonly workingsetNodereclaim: bigint;
  readonly pgrefill: bigint;
  readonly pgscan: bigint;
  readonly pgsteal: bigint;
  readonly pgactivate: bigint;
  readonly pgdeactivate: bigint;
  readonly pglazyfree: bigint;
  readonly pglazyfreed: bigint;
  readonly thpFaultAlloc: bigint;
  readonly thpCollapseAlloc: bigint;
  /** memory.current. */
  readonly usage: bigint;
  /** memory.max ("max" = 2^64-1). */
  readonly usageLimit: bigint;
  /** memory.swap.current. */
  readonly swapUsage: bigint;
  /** memory.swap.max ("max" = 2^64-1). */
  readonly swapLimit: bigint;
}

/** memory.events counters. */
export interface MemoryEvents {
  readonly low: bigint;
  readonly high: bigint;
  readonly max: bigint;
  readonly oom: bigint;
  readonly oomKill: bigint;
}

/** io.stat of one device. */
export interface IOEntry {
  readonly major: bigint;
  readonly minor: bigint;
  readonly rbytes: bigint;
  readonly wbytes: bigint;
  readonly rios: bigint;
  readonly wios: bigint;
}

/** v2 IO statistics. */
export interface IOStat {
  readonly usage: IOEntry[];
}

/** v2 hugetlb usage for one page size. */
export interface HugeTlbStatV2 {
  readonly current: bigint;
  readonly max: bigint;
  readonly pagesize: string;
}

/** `io.containerd.cgroups.v2.Metrics`. */
export interface MetricsV2 {
  readonly pids: PidsStat;
  readonly cpu: CpuStatV2;
  readonly memory: MemoryStatV2;
  readonly rdma: RdmaStat;
  readonly io: IOStat;
  readonly hugetlb: HugeTlbStatV2[];
  readonly memoryEvents: MemoryEvents;
}

/** Statistics of one cgroup, tagged with the hierarchy version they came from. */
export type CgroupStats =
  | { readonly version: 1; readonly metrics: MetricsV1 }
  | { readonly version: 2; readonly metrics: MetricsV2 };
