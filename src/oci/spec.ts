/**
 * The subset of the OCI runtime specification (config.json, version 1.0.x) that husk writes and reads,
 * and a builder that turns "this rootfs, run these args" into a bundle any OCI runtime accepts.
 *
 * Field names are the spec's JSON names. Integers are JS numbers (exact up to 2^53, enough for every
 * limit a person writes); -1 means "unlimited" where the spec says so.
 */
import { mkdir, stat, writeFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { errnoOf, HuskError, invalidArgument, notFound } from "../errors.js";

/** OCI spec version husk writes (what runc 1.1 itself writes with `runc spec`). */
export const OCI_VERSION = "1.0.2-dev";

/** The root filesystem of a container. `path` is absolute or relative to the bundle directory. */
export interface Root {
  readonly path: string;
  readonly readonly?: boolean;
}

/** A mount inside the container (`destination` absolute). */
export interface Mount {
  readonly destination: string;
  readonly type?: string;
  readonly source?: string;
  readonly options?: readonly string[];
}

/** The user a process runs as (numeric ids; names are not resolved). */
export interface User {
  readonly uid: number;
  readonly gid: number;
  readonly umask?: number;
  readonly additionalGids?: readonly number[];
}

/** Capability sets, each a list of names like `CAP_KILL`. */
export interface Capabilities {
  readonly bounding?: readonly string[];
  readonly effective?: readonly string[];
  readonly inheritable?: readonly string[];
  readonly permitted?: readonly string[];
  readonly ambient?: readonly string[];
}

/** A resource limit, e.g. `{type: "RLIMIT_NOFILE", hard: 1024, soft: 1024}`. */
export interface Rlimit {
  readonly type: string;
  readonly hard: number;
  readonly soft: number;
}

/** Terminal size in characters. */
export interface ConsoleSize {
  readonly height: number;
  readonly width: number;
}

/**
 * A process: the container's init (`spec.process`) or an exec'd one (the JSON handed to
 * `runtime exec --process`). containerd counterpart: `specs.Process`.
 */
export interface Process {
  readonly terminal?: boolean;
  readonly consoleSize?: ConsoleSize;
  readonly user: User;
  readonly args: readonly string[];
  /** `KEY=value` entries. */
  readonly env?: readonly string[];
  /** Absolute path inside the container. */
  readonly cwd: string;
  readonly capabilities?: Capabilities;
  readonly rlimits?: readonly Rlimit[];
  readonly noNewPrivileges?: boolean;
  readonly apparmorProfile?: string;
  readonly oomScoreAdj?: number;
  readonly selinuxLabel?: string;
}

/** A Linux namespace; `path` joins an existing one instead of creating it. */
export interface Namespace {
  readonly type: "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup" | "time";
  readonly path?: string;
}

/** Device cgroup rule. */
export interface LinuxDeviceCgroup {
  readonly allow: boolean;
  readonly type?: string;
  readonly major?: number;
  readonly minor?: number;
  readonly access?: string;
}

/** Memory limits in bytes (`limit` -1 = unlimited). */
export interface LinuxMemory {
  readonly limit?: number;
  readonly reservation?: number;
  readonly swap?: number;
  readonly kernel?: number;
  readonly kernelTCP?: number;
  readonly swappiness?: number;
  readonly disableOOMKiller?: boolean;
  readonly useHierarchy?: boolean;
}

/** CPU limits: `shares` (relative weight), `quota`/`period` in microseconds, cpuset strings. */
export interface LinuxCpu {
  readonly shares?: number;
  readonly quota?: number;
  readonly period?: number;
  readonly realtimeRuntime?: number;
  readonly realtimePeriod?: number;
  readonly cpus?: string;
  readonly mems?: string;
  readonly idle?: number;
}

/** Process-count limit (`limit` -1 or 0 = unlimited, as the kernel's "max"). */
export interface LinuxPids {
  readonly limit: number;
}

/** Per-device block IO weight or throttle entries. */
export interface LinuxBlockIO {
  readonly weight?: number;
  readonly leafWeight?: number;
  readonly weightDevice?: readonly { major: number; minor: number; weight?: number; leafWeight?: number }[];
  readonly throttleReadBpsDevice?: readonly LinuxThrottleDevice[];
  readonly throttleWriteBpsDevice?: readonly LinuxThrottleDevice[];
  readonly throttleReadIOPSDevice?: readonly LinuxThrottleDevice[];
  readonly throttleWriteIOPSDevice?: readonly LinuxThrottleDevice[];
}

/** One throttled block device. */
export interface LinuxThrottleDevice {
  readonly major: number;
  readonly minor: number;
  readonly rate: number;
}

/** A hugetlb limit for one page size (e.g. `"2MB"`), in bytes. */
export interface LinuxHugepageLimit {
  readonly pageSize: string;
  readonly limit: number;
}

/**
 * cgroup resource limits: in `spec.linux.resources`, and the body of `runtime update --resources -`.
 * containerd counterpart: `specs.LinuxResources`.
 */
export interface LinuxResources {
  readonly devices?: readonly LinuxDeviceCgroup[];
  readonly memory?: LinuxMemory;
  readonly cpu?: LinuxCpu;
  readonly pids?: LinuxPids;
  readonly blockIO?: LinuxBlockIO;
  readonly hugepageLimits?: readonly LinuxHugepageLimit[];
  /** cgroup v2 files to write verbatim (`{"memory.high": "100M"}`). */
  readonly unified?: Readonly<Record<string, string>>;
}

/** Linux-specific configuration. */
export interface Linux {
  readonly namespaces?: readonly Namespace[];
  readonly resources?: LinuxResources;
  /** cgroup path: absolute = from the hierarchy root, relative = below the runtime's own cgroup. */
  readonly cgroupsPath?: string;
  readonly maskedPaths?: readonly string[];
  readonly readonlyPaths?: readonly string[];
  readonly sysctl?: Readonly<Record<string, string>>;
  readonly rootfsPropagation?: string;
  readonly uidMappings?: readonly { containerID: number; hostID: number; size: number }[];
  readonly gidMappings?: readonly { containerID: number; hostID: number; size: number }[];
  readonly seccomp?: unknown;
  readonly devices?: readonly unknown[];
}

/** An OCI runtime spec (config.json). containerd counterpart: `specs.Spec`. */
export interface Spec {
  readonly ociVersion: string;
  readonly process?: Process;
  readonly root?: Root;
  readonly hostname?: string;
  readonly mounts?: readonly Mount[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly linux?: Linux;
  readonly hooks?: unknown;
}

/** A spec as {@link defaultSpec} builds it: process, root, mounts and linux always present. */
export type CompleteSpec = Spec & {
  readonly process: Process;
  readonly root: Root;
  readonly mounts: readonly Mount[];
  readonly linux: Linux;
};

/** The environment a container gets when the caller names none (plus `TERM` with a terminal). */
export const DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The capabilities a container's processes keep by default: the set container engines have granted
 * for years (chown, dac_override, fsetid, fowner, mknod, net_raw, setgid, setuid, setfcap, setpcap,
 * net_bind_service, sys_chroot, kill, audit_write). containerd counterpart: `oci.WithDefaultSpec`.
 */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Paths hidden from the container (bind-mounted over with /dev/null or an empty tmpfs). */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
];

/** Paths the container sees read-only. */
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

/** Default open-files limit (soft = hard). */
export const DEFAULT_NOFILE_LIMIT = 1024;

/** Resource limits in friendly units, turned into {@link LinuxResources} by {@link defaultSpec}. */
export interface ContainerLimits {
  /** Memory limit in bytes (swap is limited to the same value, so it cannot overflow into swap). */
  readonly memoryBytes?: number;
  /** Maximum number of processes/threads in the container. */
  readonly pidsLimit?: number;
  /** Relative CPU weight (cgroup v1 shares, 2..262144; 1024 = one share). */
  readonly cpuShares?: number;
  /** CPU time allowed per period, in microseconds (e.g. 50000 of 100000 = half a CPU). */
  readonly cpuQuotaUs?: number;
  /** The period for `cpuQuotaUs`, in microseconds (default 100000 when a quota is set). */
  readonly cpuPeriodUs?: number;
}

/** Everything {@link defaultSpec} needs; only `rootfs` and `args` are required. */
export interface SpecOptions {
  /** Root filesystem directory: absolute, or relative to the bundle directory. Used in place, never copied. */
  readonly rootfs: string;
  /** argv of the container's init; must not be empty. */
  readonly args: readonly string[];
  /** `KEY=value` entries; default {@link DEFAULT_PATH_ENV} (plus `TERM=xterm` with a terminal). */
  readonly env?: readonly string[];
  /** Working directory inside the container, absolute; default "/". */
  readonly cwd?: string;
  /** Give the init a pty (then the runtime needs a console socket). Default false. */
  readonly terminal?: boolean;
  /** Numeric user; default root (0:0). */
  readonly user?: User;
  /** Default "husk". */
  readonly hostname?: string;
  /** Mount the root filesystem read-only. Default false. */
  readonly readonlyRootfs?: boolean;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly limits?: ContainerLimits;
  /** Share the host's network namespace instead of creating an empty one. Default false. */
  readonly hostNetwork?: boolean;
  /** `linux.cgroupsPath`; default: unset (the runtime picks one from the container id). */
  readonly cgroupsPath?: string;
  /** Capability names for bounding/effective/permitted; default {@link DEFAULT_CAPABILITIES}. */
  readonly capabilities?: readonly string[];
  /** Mounts added after the default ones. */
  readonly extraMounts?: readonly Mount[];
  /** Default true. */
  readonly noNewPrivileges?: boolean;
}

const DEFAULT_MOUNTS: readonly Mount[] = [
  { destination: "/proc", type: "proc", source: "proc" },
  {
    destination: "/dev",
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
  },
  {
    destination: "/dev/pts",
    type: "devpts",
    source: "devpts",
    options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
  },
  {
    destination: "/dev/shm",
    type: "tmpfs",
    source: "shm",
    options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
  },
  { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
  { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
  {
    destination: "/sys/fs/cgroup",
    type: "cgroup",
    source: "cgroup",
    options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
  },
];

/**
 * Validates `options` (without touching the file system) and returns a complete spec in the shape
 * `runc spec` produces: pid/ipc/uts/mount (+ network unless `hostNetwork`) namespaces, the default
 * capabilities, masked and read-only /proc paths, the proc/dev/devpts/shm/mqueue/sysfs/cgroup mounts,
 * RLIMIT_NOFILE, noNewPrivileges, all devices denied (the runtime adds the standard ones).
 *
 * Throws InvalidArgument for empty args, an env entry without "=", a relative cwd or a bad limit.
 * containerd counterpart: `oci.GenerateSpec` with `oci.WithDefaultSpec`.
 */
export function defaultSpec(options: SpecOptions): CompleteSpec {
  validateSpecOptions(options);
  const terminal = options.terminal ?? false;
  const capabilities = options.capabilities ?? DEFAULT_CAPABILITIES;
  const namespaces: Namespace[] = [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }];
  if (options.hostNetwork !== true) namespaces.push({ type: "network" });
  const resources = resourcesFromLimits(options.limits);
  const env = options.env ?? (terminal ? [DEFAULT_PATH_ENV, "TERM=xterm"] : [DEFAULT_PATH_ENV]);
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal,
      user: options.user ?? { uid: 0, gid: 0 },
      args: [...options.args],
      env: [...env],
      cwd: options.cwd ?? "/",
      capabilities: {
        bounding: [...capabilities],
        effective: [...capabilities],
        permitted: [...capabilities],
      },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: DEFAULT_NOFILE_LIMIT, soft: DEFAULT_NOFILE_LIMIT }],
      noNewPrivileges: options.noNewPrivileges ?? true,
    },
    root: { path: options.rootfs, readonly: options.readonlyRootfs ?? false },
    hostname: options.hostname ?? "husk",
    mounts: [...DEFAULT_MOUNTS, ...(options.extraMounts ?? [])],
    ...(options.annotations === undefined ? {} : { annotations: { ...options.annotations } }),
    linux: {
      ...(options.cgroupsPath === undefined ? {} : { cgroupsPath: options.cgroupsPath }),
      resources: { devices: [{ allow: false, access: "rwm" }], ...resources },
      namespaces,
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
}

function validateSpecOptions(options: SpecOptions): void {
  if (options.rootfs === "") throw invalidArgument("rootfs path must not be empty");
  if (options.args.length === 0) throw invalidArgument("container args must not be empty");
  if (options.args[0] === "") throw invalidArgument("container args[0] must not be empty");
  for (const entry of options.env ?? []) {
    if (entry.indexOf("=") <= 0) {
      throw invalidArgument(`env entry ${JSON.stringify(entry)} is invalid: expected KEY=value`);
    }
  }
  if (options.cwd !== undefined && !options.cwd.startsWith("/")) {
    throw invalidArgument(`cwd ${JSON.stringify(options.cwd)} must be an absolute path`);
  }
  if (options.user !== undefined) {
    for (const [name, value] of [
      ["uid", options.user.uid],
      ["gid", options.user.gid],
    ] as const) {
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
        throw invalidArgument(`user ${name} ${value} is invalid: expected an integer 0..4294967295`);
      }
    }
  }
  for (const mount of options.extraMounts ?? []) {
    if (!mount.destination.startsWith("/")) {
      throw invalidArgument(
        `mount destination ${JSON.stringify(mount.destination)} must be an absolute path`,
      );
    }
  }
}

function positiveInteger(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw invalidArgument(`limit ${name} ${value} is invalid: expected a positive integer`);
  }
  return value;
}

/**
 * {@link LinuxResources} for friendly limits (without the device rules). Throws InvalidArgument for
 * non-positive or fractional values.
 */
export function resourcesFromLimits(limits: ContainerLimits | undefined): LinuxResources {
  if (limits === undefined) return {};
  const memoryBytes = positiveInteger("memoryBytes", limits.memoryBytes);
  const pidsLimit = positiveInteger("pidsLimit", limits.pidsLimit);
  const cpuShares = positiveInteger("cpuShares", limits.cpuShares);
  const cpuQuotaUs = positiveInteger("cpuQuotaUs", limits.cpuQuotaUs);
  const cpuPeriodUs = positiveInteger("cpuPeriodUs", limits.cpuPeriodUs);
  const cpu: { shares?: number; quota?: number; period?: number } = {};
  if (cpuShares !== undefined) cpu.shares = cpuShares;
  if (cpuQuotaUs !== undefined) {
    cpu.quota = cpuQuotaUs;
    cpu.period = cpuPeriodUs ?? 100_000;
  } else if (cpuPeriodUs !== undefined) {
    cpu.period = cpuPeriodUs;
  }
  return {
    ...(memoryBytes === undefined ? {} : { memory: { limit: memoryBytes, swap: memoryBytes } }),
    ...(pidsLimit === undefined ? {} : { pids: { limit: pidsLimit } }),
    ...(Object.keys(cpu).length === 0 ? {} : { cpu }),
  };
}

/** What {@link writeBundle} wrote. */
export interface Bundle {
  /** Absolute bundle directory. */
  readonly dir: string;
  /** Absolute path of config.json. */
  readonly configPath: string;
  /** Absolute root filesystem directory. */
  readonly rootfs: string;
  readonly spec: CompleteSpec;
}

/**
 * Makes an OCI bundle: creates `dir` (and parents) if needed and writes `config.json` built by
 * {@link defaultSpec}. The root filesystem is used in place (an absolute `rootfs` is written as is, a
 * relative one is resolved against `dir`); it must exist as a directory, else NotFound
 * `rootfs "<path>" does not exist`. Overwrites an existing config.json.
 */
export async function writeBundle(dir: string, options: SpecOptions): Promise<Bundle> {
  const bundleDir = resolve(dir);
  const spec = defaultSpec(options);
  const rootfs = isAbsolute(options.rootfs) ? options.rootfs : join(bundleDir, options.rootfs);
  await assertDirectory(rootfs);
  await mkdir(bundleDir, { recursive: true });
  const configPath = join(bundleDir, "config.json");
  await writeFile(configPath, `${JSON.stringify(spec, null, 2)}\n`, { mode: 0o644 });
  return { dir: bundleDir, configPath, rootfs, spec };
}

async function assertDirectory(path: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    if (errnoOf(error) === "ENOENT" || errnoOf(error) === "ENOTDIR") {
      throw notFound(`rootfs ${JSON.stringify(path)} does not exist`, error);
    }
    throw HuskError.from(error, `rootfs ${JSON.stringify(path)}`);
  }
  if (!isDirectory) throw invalidArgument(`rootfs ${JSON.stringify(path)} is not a directory`);
}
