/**
 * Parsers for what OCI runtimes print on stdout: `state`, `list`, `ps --format json` and
 * `events --stats`. Lenient by design: runc, crun and runsc differ in whitespace, key order, extra
 * keys and precision (process-model §3.3); only `id`, `pid`, `status` and `bundle` are relied on.
 */
import { unknownError } from "../errors.js";

/** Container status as the runtimes name it (runsc adds "creating"). */
export type RuntimeStatus = "creating" | "created" | "running" | "paused" | "stopped" | "unknown";

const STATUSES = new Set<string>(["creating", "created", "running", "paused", "stopped"]);

/**
 * A container as `runtime state` / `runtime list` describe it. `pid` is 0 once the init has exited
 * (even before anyone reaped it). containerd counterpart: go-runc `Container`.
 */
export interface RuntimeState {
  readonly id: string;
  readonly pid: number;
  readonly status: RuntimeStatus;
  /** Absolute bundle directory. */
  readonly bundle: string;
  /** When the container was created, if the runtime said so. */
  readonly created?: Date;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Parses one state object (already JSON-decoded). Throws Unknown when `id` is missing. */
export function toRuntimeState(value: unknown): RuntimeState {
  if (typeof value !== "object" || value === null) {
    throw unknownError(`runtime state is not a JSON object: ${JSON.stringify(value)}`);
  }
  const raw = value as Record<string, unknown>;
  if (typeof raw.id !== "string" || raw.id === "") {
    throw unknownError(`runtime state has no container id: ${JSON.stringify(value).slice(0, 200)}`);
  }
  const pid = typeof raw.pid === "number" && Number.isInteger(raw.pid) && raw.pid > 0 ? raw.pid : 0;
  const status: RuntimeStatus =
    typeof raw.status === "string" && STATUSES.has(raw.status) ? (raw.status as RuntimeStatus) : "unknown";
  const bundle = typeof raw.bundle === "string" ? raw.bundle : "";
  const created = typeof raw.created === "string" ? new Date(raw.created) : undefined;
  const annotations = stringRecord(raw.annotations);
  return {
    id: raw.id,
    pid,
    status,
    bundle,
    ...(created === undefined || Number.isNaN(created.getTime()) ? {} : { created }),
    ...(annotations === undefined ? {} : { annotations }),
  };
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const result: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry === "string") result[key] = entry;
  }
  return result;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw unknownError(`cannot parse ${what} output ${JSON.stringify(text.slice(0, 200))}`, error);
  }
}

/** Parses `runtime state <id>` output (runc: no trailing newline; crun: two). */
export function parseState(stdout: string): RuntimeState {
  return toRuntimeState(parseJson(stdout.trim(), "state"));
}

/** Parses `runtime list --format json` output; runc prints `null` for an empty or missing root. */
export function parseStateList(stdout: string): RuntimeState[] {
  const text = stdout.trim();
  if (text === "" || text === "null") return [];
  const value = parseJson(text, "list");
  if (!Array.isArray(value)) throw unknownError(`list output is not a JSON array: ${text.slice(0, 200)}`);
  return value.map(toRuntimeState);
}

/** Parses `runtime ps --format json` output: host pids; runc prints `null` when none is left. */
export function parsePs(stdout: string): number[] {
  const text = stdout.trim();
  if (text === "" || text === "null") return [];
  const value = parseJson(text, "ps");
  if (!Array.isArray(value) || !value.every((pid) => Number.isInteger(pid))) {
    throw unknownError(`ps output is not a JSON array of pids: ${text.slice(0, 200)}`);
  }
  return value as number[];
}

/** A cgroup memory counter set from `events --stats`, in bytes. */
export interface RuntimeMemoryEntry {
  readonly limit: bigint;
  readonly usage: bigint;
  readonly max: bigint;
  readonly failcnt: bigint;
}

/**
 * Container statistics from `runtime events --stats` (runc's `types.Stats`; runsc fills only pids,
 * memory usage and cpu). Absent counters are 0n. All integers are exact (`bigint`): an unlimited v1
 * memory limit is 9223372036854771712, which a JS number cannot hold.
 */
export interface RuntimeStats {
  readonly cpu: {
    readonly usage: {
      /** Nanoseconds of CPU time. */
      readonly total: bigint;
      readonly kernel: bigint;
      readonly user: bigint;
      readonly perCpu: readonly bigint[];
      readonly perCpuKernel: readonly bigint[];
      readonly perCpuUser: readonly bigint[];
    };
    readonly throttling: {
      readonly periods: bigint;
      readonly throttledPeriods: bigint;
      /** Nanoseconds. */
      readonly throttledTime: bigint;
    };
  };
  readonly memory: {
    readonly cache: bigint;
    readonly usage: RuntimeMemoryEntry;
    readonly swap: RuntimeMemoryEntry;
    readonly kernel: RuntimeMemoryEntry;
    readonly kernelTcp: RuntimeMemoryEntry;
    /** memory.stat as the runtime read it (v1 or v2 keys). */
    readonly raw: Readonly<Record<string, bigint>>;
  };
  readonly pids: { readonly current: bigint; readonly limit: bigint };
  /** Per page size ("2MB", "1GB"). */
  readonly hugetlb: Readonly<
    Record<string, { readonly usage: bigint; readonly max: bigint; readonly failcnt: bigint }>
  >;
}

/**
 * Parses `events --stats` output: the first line whose `type` is "stats" with a non-null `data`.
 * Throws Unknown when there is none.
 */
export function parseStats(stdout: string): RuntimeStats {
  for (const line of stdout.split("\n")) {
    const text = line.trim();
    if (text === "") continue;
    const event = parseJson(quoteIntegers(text), "events") as { type?: unknown; data?: unknown } | null;
    if (event?.type === "stats" && typeof event.data === "object" && event.data !== null) {
      return toRuntimeStats(event.data as Json);
    }
  }
  throw unknownError(`events output has no stats: ${JSON.stringify(stdout.slice(0, 200))}`);
}

type Json = Readonly<Record<string, unknown>>;

function object(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function big(value: unknown): bigint {
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  if (typeof value === "number" && Number.isFinite(value)) return BigInt(Math.trunc(value));
  return 0n;
}

function bigList(value: unknown): bigint[] {
  return Array.isArray(value) ? value.map(big) : [];
}

function memoryEntry(value: unknown): RuntimeMemoryEntry {
  const entry = object(value);
  return {
    limit: big(entry.limit),
    usage: big(entry.usage),
    max: big(entry.max),
    failcnt: big(entry.failcnt),
  };
}

function toRuntimeStats(data: Json): RuntimeStats {
  const cpu = object(data.cpu);
  const usage = object(cpu.usage);
  const throttling = object(cpu.throttling);
  const memory = object(data.memory);
  const pids = object(data.pids);
  const raw: Record<string, bigint> = {};
  for (const [key, value] of Object.entries(object(memory.raw))) raw[key] = big(value);
  const hugetlb: Record<string, { usage: bigint; max: bigint; failcnt: bigint }> = {};
  for (const [size, value] of Object.entries(object(data.hugetlb))) {
    const entry = object(value);
    hugetlb[size] = { usage: big(entry.usage), max: big(entry.max), failcnt: big(entry.failcnt) };
  }
  return {
    cpu: {
      usage: {
        total: big(usage.total),
        kernel: big(usage.kernel),
        user: big(usage.user),
        perCpu: bigList(usage.percpu),
        perCpuKernel: bigList(usage.percpu_kernel),
        perCpuUser: bigList(usage.percpu_user),
      },
      throttling: {
        periods: big(throttling.periods),
        throttledPeriods: big(throttling.throttledPeriods),
        throttledTime: big(throttling.throttledTime),
      },
    },
    memory: {
      cache: big(memory.cache),
      usage: memoryEntry(memory.usage),
      swap: memoryEntry(memory.swap),
      kernel: memoryEntry(memory.kernel),
      kernelTcp: memoryEntry(memory.kernelTCP),
      raw,
    },
    pids: { current: big(pids.current), limit: big(pids.limit) },
    hugetlb,
  };
}

/**
 * Rewrites every integer literal outside strings as a JSON string, so that 64-bit counters survive
 * `JSON.parse` exactly. Non-integer numbers (with `.` or an exponent) are left alone.
 */
export function quoteIntegers(json: string): string {
  let out = "";
  let i = 0;
  while (i < json.length) {
    const ch = json[i] as string;
    if (ch === '"') {
      // Copy a whole string literal, honouring escapes.
      let j = i + 1;
      while (j < json.length && json[j] !== '"') j += json[j] === "\\" ? 2 : 1;
      out += json.slice(i, j + 1);
      i = j + 1;
    } else if (ch === "-" || (ch >= "0" && ch <= "9")) {
      let j = i + 1;
      while (j < json.length && /[0-9.eE+-]/.test(json[j] as string)) j += 1;
      const token = json.slice(i, j);
      out += /^-?\d+$/.test(token) ? `"${token}"` : token;
      i = j;
    } else {
      out += ch;
      i += 1;
    }
  }
  return out;
}
