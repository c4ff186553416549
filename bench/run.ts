/**
 * `npm run bench`: husk's containerd shim (`io.containerd.husk.v2`) against containerd's `containerd-shim-runc-v2`
 * (`io.containerd.runc.v2`) on one private containerd, interleaved in the same run so that machine noise hits both,
 * every figure reported for both with the ratio husk / runc-v2. Prints a Markdown report and writes it to
 * bench/RESULTS.md (bench/out/RESULTS-quick.md with `--quick`, a smoke run of a few iterations each).
 *
 * Placements compared: runc-v2 as containerd uses it for a plain `ctr run` (one shim per container) and grouped (the
 * `io.containerd.runc.v2.group` label: one shim for all); husk with its default policy (per pod: an unlabelled container
 * gets its own daemon) and with `grouping = "namespace"` (one daemon per namespace), chosen per container through
 * `ctr run --runtime-config-path`.
 *
 * Needs root, a built tree (`npm run build`), containerd 1.6 + ctr, runc, busybox-static. Cleans up everything it
 * started — containers, tasks, shims, sockets, containerd, temp dirs — also on failure and on SIGINT/SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GROUPING_CACHE_DIR, NAMESPACE_GROUP } from "../src/shim/start.js";
import { type Containerd, startContainerd } from "../test/e2e/support/containerd.js";
import { describeResult } from "../test/e2e/support/ctr.js";
import { stringField } from "../test/e2e/support/events.js";
import { isAlive, parentPid } from "../test/e2e/support/procfs.js";
import { HUSK_RUNTIME, RUNC_RUNTIME, repoRoot } from "../test/e2e/support/runtime.js";
import { listTasks } from "../test/e2e/support/tasks.js";
import { describeMachine, loadAverage } from "./machine.js";
import { type ShimMemory, shimMemory } from "./memory.js";
import { measureEconomy } from "./micro.js";
import { formatNumber, formatRatio, mean, median, nowMs, quantile } from "./stats.js";

/** How many iterations of each measurement; `--quick` is a smoke run. */
interface Plan {
  readonly lifecycleRuns: number;
  readonly concurrent: number;
  readonly concurrentRounds: number;
  /** Containers running when memory is read: grown in one go per variant (so the slope is one process's). */
  readonly memoryCounts: readonly [number, number, number];
  readonly execRuns: number;
  readonly stdoutRuns: number;
  readonly stdoutMiB: number;
  readonly killRuns: number;
  readonly libraryRuns: number;
  readonly microRuns: number;
}

const FULL: Plan = {
  lifecycleRuns: 30,
  concurrent: 50,
  concurrentRounds: 2,
  memoryCounts: [1, 10, 50],
  execRuns: 30,
  stdoutRuns: 3,
  stdoutMiB: 512,
  killRuns: 20,
  libraryRuns: 30,
  microRuns: 20,
};

const QUICK: Plan = {
  lifecycleRuns: 3,
  concurrent: 5,
  concurrentRounds: 1,
  memoryCounts: [1, 3, 5],
  execRuns: 3,
  stdoutRuns: 1,
  stdoutMiB: 64,
  killRuns: 3,
  libraryRuns: 3,
  microRuns: 3,
};

const WARMUP_RUNS = 2;
/** RESULTS.md keeps everything from this line on across runs: the hand-written analysis of the figures. */
const ANALYSIS_MARKER = "<!-- analysis: written by hand, kept by npm run bench -->";
/** How long memory is left to settle after starts before it is read, and how many readings (1 s apart) are taken. */
const SETTLE_MS = 3000;
const MEMORY_SAMPLES = 3;
const GROUP_LABEL = "io.containerd.runc.v2.group";
const POD_CONFIG = 'grouping = "pod"\n';
const NAMESPACE_CONFIG = 'grouping = "namespace"\n';

/** The shim's grouping cache entry for a config file's text (see src/shim/start.ts GROUPING_CACHE_DIR). */
function groupingCacheEntry(configText: string): string {
  return join(GROUPING_CACHE_DIR, createHash("sha256").update(configText).digest("hex"));
}

/** One way of running containers: a runtime plus the extra `ctr run` flags that choose its placement. */
interface Variant {
  readonly label: string;
  readonly runtime: string;
  readonly runArgs: readonly string[];
}

interface Variants {
  readonly runc: Variant;
  readonly runcGrouped: Variant;
  readonly husk: Variant;
  readonly huskNamespace: Variant;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rotates `items` by `by` (so that no variant always runs first). */
function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

class Bench {
  readonly #containerd: Containerd;
  readonly #plan: Plan;
  readonly variants: Variants;
  /** husk config files (`--runtime-config-path`): the default policy, and one daemon per namespace. */
  readonly podConfig: string;
  readonly namespaceConfig: string;
  readonly #rootfs: string;
  /** Containers started and not yet removed (removed again at the end if a step failed). */
  readonly #live = new Set<string>();

  constructor(containerd: Containerd, plan: Plan) {
    this.#containerd = containerd;
    this.#plan = plan;
    this.#rootfs = containerd.rootfs();
    const configs = containerd.scratchDir("husk-config");
    const podConfig = join(configs, "pod.toml");
    const namespaceConfig = join(configs, "namespace.toml");
    writeFileSync(podConfig, POD_CONFIG);
    writeFileSync(namespaceConfig, NAMESPACE_CONFIG);
    this.podConfig = podConfig;
    this.namespaceConfig = namespaceConfig;
    // The namespace daemon's socket is keyed by husk's namespace group, which the harness cannot guess: register it
    // so that teardown removes it even if that daemon died without doing so.
    containerd.shimSocket(NAMESPACE_GROUP);
    const group = `bench-${randomBytes(4).toString("hex")}`;
    this.variants = {
      runc: { label: "runc-v2", runtime: RUNC_RUNTIME, runArgs: [] },
      runcGrouped: {
        label: "runc-v2 grouped",
        runtime: RUNC_RUNTIME,
        runArgs: ["--label", `${GROUP_LABEL}=${group}`],
      },
      husk: { label: "husk per pod", runtime: HUSK_RUNTIME, runArgs: ["--runtime-config-path", podConfig] },
      huskNamespace: {
        label: "husk per namespace",
        runtime: HUSK_RUNTIME,
        runArgs: ["--runtime-config-path", namespaceConfig],
      },
    };
  }

  get containerd(): Containerd {
    return this.#containerd;
  }

  #runArgs(variant: Variant, detach: boolean, id: string, command: readonly string[]): string[] {
    return [
      "run",
      ...(detach ? ["-d"] : ["--rm"]),
      "--runtime",
      variant.runtime,
      ...variant.runArgs,
      "--rootfs",
      this.#rootfs,
      id,
      ...command,
    ];
  }

  /** Runs ctr and throws (argv, exit, output) unless it exits 0; returns the wall time in ms. */
  async #timedCtr(args: readonly string[]): Promise<number> {
    const started = nowMs();
    const result = await this.#containerd.ctr(args, { timeoutMs: 300_000 });
    const elapsed = nowMs() - started;
    if (result.status !== 0) throw new Error(describeResult(result));
    return elapsed;
  }

  /** Starts a detached `sleep` container. */
  async startSleeper(variant: Variant, prefix: string): Promise<string> {
    const id = this.#containerd.newId(prefix);
    this.#live.add(id);
    await this.#timedCtr(this.#runArgs(variant, true, id, ["/bin/sleep", "1000000"]));
    return id;
  }

  /** Kills, deletes the task and the container. */
  async remove(id: string): Promise<void> {
    await this.#timedCtr(["task", "delete", "--force", id]);
    await this.#timedCtr(["container", "delete", id]);
    this.#live.delete(id);
  }

  /** Best effort: removes every container this run left (after a failure). */
  async removeLeftovers(): Promise<void> {
    for (const id of [...this.#live]) {
      await this.#containerd.ctr(["task", "delete", "--force", id]);
      await this.#containerd.ctr(["container", "delete", id]);
      this.#live.delete(id);
    }
  }

  /** `ctr run --rm … /bin/true` for each variant, interleaved; wall times in ms per variant label. */
  async lifecycle(variants: readonly Variant[]): Promise<Map<string, number[]>> {
    const times = new Map(variants.map((v) => [v.label, [] as number[]]));
    for (let i = 0; i < this.#plan.lifecycleRuns + WARMUP_RUNS; i++) {
      for (const variant of rotate(variants, i)) {
        const id = this.#containerd.newId("life");
        const elapsed = await this.#timedCtr(this.#runArgs(variant, false, id, ["/bin/true"]));
        if (i >= WARMUP_RUNS) times.get(variant.label)?.push(elapsed);
      }
    }
    return times;
  }

  /**
   * Starts `count` detached containers at once (wall time until every `ctr run -d` returned), then kills and deletes
   * them all at once (wall time), and waits for their shims to go.
   */
  async concurrent(variant: Variant, count: number): Promise<{ startMs: number; removeMs: number }> {
    const ids = Array.from({ length: count }, () => this.#containerd.newId("many"));
    for (const id of ids) this.#live.add(id);
    const started = nowMs();
    await Promise.all(
      ids.map((id) => this.#timedCtr(this.#runArgs(variant, true, id, ["/bin/sleep", "1000000"]))),
    );
    const startMs = nowMs() - started;
    const shims = await this.#shimPids(ids);
    const removing = nowMs();
    await Promise.all(ids.map((id) => this.remove(id)));
    const removeMs = nowMs() - removing;
    await this.#waitGone(shims);
    return { startMs, removeMs };
  }

  /** Memory of the shims serving each count of running containers in turn (the extra ones started at once). */
  async memory(variant: Variant): Promise<ShimMemory[]> {
    const ids: string[] = [];
    const readings: ShimMemory[] = [];
    try {
      for (const target of this.#plan.memoryCounts) {
        const more = target - ids.length;
        ids.push(
          ...(await Promise.all(Array.from({ length: more }, () => this.startSleeper(variant, "mem")))),
        );
        await sleep(SETTLE_MS);
        // A garbage-collected heap moves by megabytes: the median of a few readings, a second apart.
        const samples: ShimMemory[] = [];
        for (let sample = 0; sample < MEMORY_SAMPLES; sample++) {
          if (sample > 0) await sleep(1000);
          samples.push(await shimMemory(this.#containerd, ids));
        }
        readings.push({
          ...(samples[0] as ShimMemory),
          rssKiB: median(samples.map((r) => r.rssKiB)),
          pssKiB: median(samples.map((r) => r.pssKiB)),
          ussKiB: median(samples.map((r) => r.ussKiB)),
        });
      }
    } finally {
      const shims = await this.#shimPids(ids);
      await Promise.all(ids.map((id) => this.remove(id)));
      await this.#waitGone(shims);
    }
    return readings;
  }

  async #shimPids(ids: readonly string[]): Promise<number[]> {
    const tasks = await listTasks(this.#containerd);
    return tasks
      .filter((task) => ids.includes(task.id))
      .map((task) => parentPid(task.pid) ?? 0)
      .filter((pid) => pid > 1);
  }

  /** Waits (up to 30 s) until these shim processes have exited, so that the next step starts from a clean slate. */
  async #waitGone(pids: readonly number[]): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (pids.some((pid) => isAlive(pid))) {
      if (Date.now() > deadline) throw new Error(`shims still running: ${pids.filter(isAlive).join(", ")}`);
      await sleep(100);
    }
  }

  /** `ctr task exec … /bin/true` into a running container of each variant, interleaved. */
  async exec(variants: readonly Variant[]): Promise<Map<string, number[]>> {
    const targets = new Map<string, string>();
    for (const variant of variants) targets.set(variant.label, await this.startSleeper(variant, "exec"));
    const times = new Map(variants.map((v) => [v.label, [] as number[]]));
    for (let i = 0; i < this.#plan.execRuns + WARMUP_RUNS; i++) {
      for (const variant of rotate(variants, i)) {
        const id = targets.get(variant.label) ?? "";
        const elapsed = await this.#timedCtr(["task", "exec", "--exec-id", `x${i}`, id, "/bin/true"]);
        if (i >= WARMUP_RUNS) times.get(variant.label)?.push(elapsed);
      }
    }
    for (const id of targets.values()) await this.remove(id);
    return times;
  }

  /**
   * A container writes N MiB of zeros to stdout with `dd bs=1M`; ctr copies them to /dev/null. The transfer is timed
   * between two markers the container writes to stderr before and after (stderr is a separate stream, read here), so
   * container start and teardown are not counted. Returns MB/s (10^6 bytes) and the whole `ctr run` wall time.
   */
  async stdout(variants: readonly Variant[]): Promise<Map<string, { mbPerS: number[]; wallMs: number[] }>> {
    const mib = this.#plan.stdoutMiB;
    const results = new Map(
      variants.map((v) => [v.label, { mbPerS: [] as number[], wallMs: [] as number[] }]),
    );
    const script = `echo start >&2; dd if=/dev/zero bs=1048576 count=${mib} 2>/dev/null; echo end >&2`;
    for (let i = 0; i < this.#plan.stdoutRuns + 1; i++) {
      for (const variant of rotate(variants, i)) {
        const id = this.#containerd.newId("out");
        const run = await this.#runToDevNull(this.#runArgs(variant, false, id, ["/bin/sh", "-c", script]));
        if (i === 0) continue; // warm-up
        const entry = results.get(variant.label);
        entry?.mbPerS.push((mib * 2 ** 20) / 1e6 / (run.transferMs / 1000));
        entry?.wallMs.push(run.wallMs);
      }
    }
    return results;
  }

  #runToDevNull(args: readonly string[]): Promise<{ transferMs: number; wallMs: number }> {
    return new Promise((resolve, reject) => {
      const devNull = openSync("/dev/null", "w");
      const started = nowMs();
      let child: ChildProcess;
      try {
        child = spawn("ctr", this.#containerd.ctrArgv(args), { stdio: ["ignore", devNull, "pipe"] });
      } finally {
        closeSync(devNull);
      }
      let stderr = "";
      let startMark: number | undefined;
      let endMark: number | undefined;
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        if (startMark === undefined && stderr.includes("start\n")) startMark = nowMs();
        if (endMark === undefined && stderr.includes("end\n")) endMark = nowMs();
      });
      child.on("error", reject);
      child.on("close", (status) => {
        const wallMs = nowMs() - started;
        if (status !== 0 || startMark === undefined || endMark === undefined) {
          reject(new Error(`ctr ${args.join(" ")} → ${String(status)}: ${stderr}`));
          return;
        }
        resolve({ transferMs: endMark - startMark, wallMs });
      });
    });
  }

  /** `ctr task kill -s SIGKILL` → the `/tasks/exit` event, for a fresh container of each variant, interleaved. */
  async killToExit(variants: readonly Variant[]): Promise<Map<string, number[]>> {
    const recorder = this.#containerd.recorder;
    if (recorder === undefined) throw new Error("the harness has no event recorder");
    const times = new Map(variants.map((v) => [v.label, [] as number[]]));
    for (let i = 0; i < this.#plan.killRuns + WARMUP_RUNS; i++) {
      for (const variant of rotate(variants, i)) {
        const id = await this.startSleeper(variant, "kill");
        const exited = recorder.waitFor(
          (e) => e.topic === "/tasks/exit" && stringField(e, "container_id") === id,
          60_000,
          `the exit of ${id}`,
        );
        const started = nowMs();
        const kill = this.#timedCtr(["task", "kill", "-s", "SIGKILL", id]);
        await exited;
        const elapsed = nowMs() - started;
        await kill;
        await this.remove(id);
        if (i >= WARMUP_RUNS) times.get(variant.label)?.push(elapsed);
      }
    }
    return times;
  }
}

/** The library mode runs in its own process (see library-worker.ts). */
/** Library-mode wall times in ms: husk's Supervisor, `runc run`, and runc create/start/wait/delete alone. */
interface LibraryTimes {
  readonly husk: number[];
  readonly runc: number[];
  readonly runcSteps: number[];
}

function libraryMode(runs: number, children: Set<ChildProcess>): Promise<LibraryTimes> {
  return new Promise((resolve, reject) => {
    const worker = spawn(
      process.execPath,
      ["--enable-source-maps", join(repoRoot(), "dist/bench/library-worker.js"), String(runs)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    children.add(worker);
    let stdout = "";
    let stderr = "";
    worker.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    worker.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    worker.on("close", (status) => {
      children.delete(worker);
      if (status !== 0) {
        reject(new Error(`library worker exited ${String(status)}: ${stderr}`));
        return;
      }
      resolve(JSON.parse(stdout) as LibraryTimes);
    });
  });
}

/** One row of a results table. */
interface Row {
  readonly measure: string;
  readonly runc: string;
  readonly husk: string;
  readonly ratio: string;
  readonly target: string;
}

function table(rows: readonly Row[]): string {
  const lines = [
    "| measure | runc-v2 | husk | husk / runc-v2 | target |",
    "| --- | ---: | ---: | ---: | --- |",
    ...rows.map((r) => `| ${r.measure} | ${r.runc} | ${r.husk} | ${r.ratio} | ${r.target} |`),
  ];
  return lines.join("\n");
}

function verdict(value: number, limit: number, higherIsBetter = false): string {
  if (!Number.isFinite(value)) return "n/a";
  const met = higherIsBetter ? value >= limit : value <= limit;
  return `${higherIsBetter ? "≥" : "≤"} ${limit.toFixed(2)}: ${met ? "met" : "**not met**"}`;
}

function mib(kib: number): number {
  return kib / 1024;
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const plan = quick ? QUICK : FULL;
  const machine = describeMachine();
  const loadBefore = loadAverage();
  const began = Date.now();
  const children = new Set<ChildProcess>();
  // The shim records each config file's policy; entries this run adds are removed at the end.
  const newCacheEntries = [POD_CONFIG, NAMESPACE_CONFIG]
    .map(groupingCacheEntry)
    .filter((path) => !existsSync(path));
  const containerd = await startContainerd({ name: "husk-bench" });
  const bench = new Bench(containerd, plan);
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaning ??= (async () => {
      for (const child of children) child.kill("SIGTERM");
      await bench.removeLeftovers().catch(() => undefined);
      await containerd.stop();
      for (const path of newCacheEntries) rmSync(path, { force: true });
    })();
    return cleaning;
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}, cleaning up\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const log = (message: string): void => {
    process.stderr.write(`bench [${((Date.now() - began) / 1000).toFixed(0)} s]: ${message}\n`);
  };

  let report: string;
  try {
    const v = bench.variants;
    log("economy: start, delete and daemon start-up on their own");
    const economy = await measureEconomy(plan.microRuns, bench.podConfig, children);

    log(`lifecycle: ${plan.lifecycleRuns} × ctr run --rm … true per variant`);
    // An idle container keeps the namespace daemon up, as in a namespace that runs anything at all.
    const anchor = await bench.startSleeper(v.huskNamespace, "anchor");
    const lifecycle = await bench.lifecycle([v.runc, v.husk, v.huskNamespace]);
    await bench.remove(anchor);

    log(`exec: ${plan.execRuns} × ctr task exec … true`);
    const exec = await bench.exec([v.runc, v.husk]);

    log(`kill → exit: ${plan.killRuns} runs`);
    const kill = await bench.killToExit([v.runc, v.husk]);

    log(`stdout: ${plan.stdoutRuns} × ${plan.stdoutMiB} MiB`);
    const stdout = await bench.stdout([v.runc, v.husk]);

    log(`memory at ${plan.memoryCounts.join(", ")} containers`);
    const memory = new Map<string, ShimMemory[]>();
    for (const variant of [v.runc, v.husk, v.runcGrouped, v.huskNamespace]) {
      memory.set(variant.label, await bench.memory(variant));
    }

    log(`${plan.concurrent} concurrent starts, ${plan.concurrentRounds} round(s)`);
    const concurrent = new Map<string, { startMs: number[]; removeMs: number[] }>();
    for (let round = 0; round < plan.concurrentRounds; round++) {
      for (const variant of rotate([v.runc, v.husk, v.runcGrouped, v.huskNamespace], round)) {
        log(`  ${variant.label}`);
        const result = await bench.concurrent(variant, plan.concurrent);
        const entry = concurrent.get(variant.label) ?? { startMs: [], removeMs: [] };
        entry.startMs.push(result.startMs);
        entry.removeMs.push(result.removeMs);
        concurrent.set(variant.label, entry);
      }
    }

    log(`library mode: ${plan.libraryRuns} runs`);
    const library = await libraryMode(plan.libraryRuns, children);

    report = renderReport({
      plan,
      quick,
      machine,
      loadBefore,
      loadAfter: loadAverage(),
      durationS: (Date.now() - began) / 1000,
      variants: v,
      lifecycle,
      exec,
      kill,
      stdout,
      memory,
      concurrent,
      library,
      economy,
    });
  } finally {
    log("cleaning up");
    await cleanup();
  }
  process.stdout.write(`${report}\n`);
  const out = quick ? join(repoRoot(), "bench/out/RESULTS-quick.md") : join(repoRoot(), "bench/RESULTS.md");
  mkdirSync(join(out, ".."), { recursive: true });
  const previous = existsSync(out) ? readFileSync(out, "utf8") : "";
  const analysis = previous.includes(ANALYSIS_MARKER)
    ? previous.slice(previous.indexOf(ANALYSIS_MARKER))
    : "";
  writeFileSync(out, `${report}\n${analysis === "" ? "" : `\n${analysis}`}`);
  log(`written to ${out}`);
}

interface ReportInput {
  readonly plan: Plan;
  readonly quick: boolean;
  readonly machine: ReturnType<typeof describeMachine>;
  readonly loadBefore: string;
  readonly loadAfter: string;
  readonly durationS: number;
  readonly variants: Variants;
  readonly lifecycle: Map<string, number[]>;
  readonly exec: Map<string, number[]>;
  readonly kill: Map<string, number[]>;
  readonly stdout: Map<string, { mbPerS: number[]; wallMs: number[] }>;
  readonly memory: Map<string, ShimMemory[]>;
  readonly concurrent: Map<string, { startMs: number[]; removeMs: number[] }>;
  readonly library: LibraryTimes;
  readonly economy: Awaited<ReturnType<typeof measureEconomy>>;
}

function memoryTable(input: ReportInput): string {
  const v = input.variants;
  const variants = [v.runc, v.husk, v.runcGrouped, v.huskNamespace];
  const lines = [
    `| containers | ${variants.map((variant) => `${variant.label}: shims, RSS / PSS / USS`).join(" | ")} |`,
    `| ---: | ${variants.map(() => "---:").join(" | ")} |`,
  ];
  for (const count of input.plan.memoryCounts) {
    const cells = variants.map((variant) => {
      const found = input.memory.get(variant.label)?.find((r) => r.containers === count);
      if (found === undefined) return "n/a";
      const per = (kib: number): string => formatNumber(mib(kib / count));
      return `${found.shims}: ${per(found.rssKiB)} / ${per(found.pssKiB)} / ${per(found.ussKiB)}`;
    });
    lines.push(`| ${count} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

function renderReport(input: ReportInput): string {
  const { plan, variants: v } = input;
  const get = <T>(map: Map<string, T>, variant: Variant): T => {
    const value = map.get(variant.label);
    if (value === undefined) throw new Error(`no result for ${variant.label}`);
    return value;
  };
  const ms = (value: number): string => `${formatNumber(value)} ms`;
  const rows: Row[] = [];

  const runcLife = get(input.lifecycle, v.runc);
  for (const [variant, note] of [
    [v.husk, "husk per pod (a new daemon per container)"],
    [v.huskNamespace, "husk per namespace (daemon up)"],
  ] as const) {
    const huskLife = get(input.lifecycle, variant);
    rows.push({
      measure: `\`ctr run --rm … true\`, median — ${note}`,
      runc: ms(median(runcLife)),
      husk: ms(median(huskLife)),
      ratio: formatRatio(median(huskLife), median(runcLife)),
      target: verdict(median(huskLife) / median(runcLife), 1),
    });
    rows.push({
      measure: `\`ctr run --rm … true\`, p90 — ${note}`,
      runc: ms(quantile(runcLife, 0.9)),
      husk: ms(quantile(huskLife, 0.9)),
      ratio: formatRatio(quantile(huskLife, 0.9), quantile(runcLife, 0.9)),
      target: "",
    });
  }

  const conc = (variant: Variant): { startMs: number; removeMs: number } => {
    const entry = get(input.concurrent, variant);
    return { startMs: mean(entry.startMs), removeMs: mean(entry.removeMs) };
  };
  const n = plan.concurrent;
  for (const [husk, runc, note] of [
    [v.husk, v.runc, "husk per pod vs runc-v2 (a shim each)"],
    [v.huskNamespace, v.runc, "husk per namespace vs runc-v2 (a shim each)"],
    [v.huskNamespace, v.runcGrouped, "husk per namespace vs runc-v2 grouped"],
  ] as const) {
    rows.push({
      measure: `${n} concurrent \`ctr run -d\`, wall — ${note}`,
      runc: ms(conc(runc).startMs),
      husk: ms(conc(husk).startMs),
      ratio: formatRatio(conc(husk).startMs, conc(runc).startMs),
      target: verdict(conc(husk).startMs / conc(runc).startMs, 1),
    });
    rows.push({
      measure: `kill + delete those ${n}, wall — ${note}`,
      runc: ms(conc(runc).removeMs),
      husk: ms(conc(husk).removeMs),
      ratio: formatRatio(conc(husk).removeMs, conc(runc).removeMs),
      target: "",
    });
  }

  const reading = (variant: Variant, count: number): ShimMemory => {
    const found = get(input.memory, variant).find((r) => r.containers === count);
    if (found === undefined) throw new Error(`no memory reading of ${variant.label} at ${count}`);
    return found;
  };
  const [, middle, most] = plan.memoryCounts;
  for (const [kind, key] of [
    ["PSS", "pssKiB"],
    ["RSS", "rssKiB"],
  ] as const) {
    const husk = reading(v.huskNamespace, most)[key] / most;
    const runc = reading(v.runc, most)[key] / most;
    rows.push({
      measure: `memory per container at ${most}, ${kind} — husk per namespace vs runc-v2's default placement`,
      runc: `${formatNumber(mib(runc))} MiB`,
      husk: `${formatNumber(mib(husk))} MiB`,
      ratio: formatRatio(husk, runc),
      target: kind === "PSS" ? verdict(husk / runc, 0.25) : "",
    });
  }
  const slope = (variant: Variant, key: "rssKiB" | "pssKiB"): number =>
    (reading(variant, most)[key] - reading(variant, middle)[key]) / (most - middle);
  for (const [kind, key] of [
    ["RSS", "rssKiB"],
    ["PSS", "pssKiB"],
  ] as const) {
    const husk = slope(v.huskNamespace, key);
    const runc = slope(v.runcGrouped, key);
    rows.push({
      measure: `one more container in a grouped process (slope ${middle} → ${most}, one process), ${kind}`,
      runc: `${formatNumber(runc)} KiB`,
      husk: `${formatNumber(husk)} KiB`,
      ratio: formatRatio(husk, runc),
      target: verdict(husk / runc, 1),
    });
  }

  const runcExec = median(get(input.exec, v.runc));
  const huskExec = median(get(input.exec, v.husk));
  rows.push({
    measure: "`ctr task exec … true`, median",
    runc: ms(runcExec),
    husk: ms(huskExec),
    ratio: formatRatio(huskExec, runcExec),
    target: verdict(huskExec / runcExec, 1),
  });

  const runcOut = get(input.stdout, v.runc);
  const huskOut = get(input.stdout, v.husk);
  rows.push({
    measure: `stdout throughput, ${plan.stdoutMiB} MiB through ctr to /dev/null, median`,
    runc: `${formatNumber(median(runcOut.mbPerS))} MB/s`,
    husk: `${formatNumber(median(huskOut.mbPerS))} MB/s`,
    ratio: formatRatio(median(huskOut.mbPerS), median(runcOut.mbPerS)),
    target: verdict(median(huskOut.mbPerS) / median(runcOut.mbPerS), 1, true),
  });
  rows.push({
    measure: `the same \`ctr run --rm\`, whole wall time, median`,
    runc: ms(median(runcOut.wallMs)),
    husk: ms(median(huskOut.wallMs)),
    ratio: formatRatio(median(huskOut.wallMs), median(runcOut.wallMs)),
    target: "",
  });

  const runcKill = median(get(input.kill, v.runc));
  const huskKill = median(get(input.kill, v.husk));
  rows.push({
    measure: "`ctr task kill -s KILL` → `/tasks/exit` event, median",
    runc: ms(runcKill),
    husk: ms(huskKill),
    ratio: formatRatio(huskKill, runcKill),
    target: verdict(huskKill / runcKill, 1),
  });

  const libHusk = median(input.library.husk);
  const libRunc = median(input.library.runc);
  const libSteps = median(input.library.runcSteps);
  rows.push({
    measure: "library: Supervisor create/start/wait/delete of `true` vs bare `runc run`, median",
    runc: ms(libRunc),
    husk: ms(libHusk),
    ratio: formatRatio(libHusk, libRunc),
    target: `within 10 ms: ${libHusk - libRunc <= 10 ? "met" : "**not met**"} (${formatNumber(libHusk - libRunc)} ms)`,
  });
  rows.push({
    measure:
      "library: the same vs bare `runc create` + `start` + wait + `delete` (the calls the Supervisor makes)",
    runc: ms(libSteps),
    husk: ms(libHusk),
    ratio: formatRatio(libHusk, libSteps),
    target: `husk's own cost: ${formatNumber(libHusk - libSteps)} ms`,
  });

  const m = input.machine;
  const e = input.economy;
  return [
    `# husk vs containerd-shim-runc-v2${input.quick ? " (quick smoke run, not representative)" : ""}`,
    "",
    `Run ${m.date} by \`npm run bench\`, ${formatNumber(input.durationS)} s.`,
    "",
    `- CPU: ${m.cpu}, ${m.cores} cores; RAM ${m.memoryGiB.toFixed(1)} GiB; kernel ${m.kernel}`,
    `- node ${m.node}; ${m.containerd}; ${m.runc}`,
    `- load average (1/5/15 min) before: ${input.loadBefore}; after: ${input.loadAfter}`,
    "",
    "Both shims run on one private containerd, interleaved (each iteration runs every variant, in rotating order),",
    "containers from a busybox `--rootfs`. Variants: **runc-v2** = `io.containerd.runc.v2` as `ctr run` uses it (one",
    "shim per container); **runc-v2 grouped** = the same with the `io.containerd.runc.v2.group` label (one shim for",
    'all); **husk per pod** = `io.containerd.husk.v2` with `grouping = "pod"`, the default (an unlabelled container',
    'gets its own daemon); **husk per namespace** = `grouping = "namespace"` (one daemon for the namespace; in the',
    "lifecycle rows an idle container of the namespace keeps it up). Memory is RSS and PSS from",
    "`/proc/PID/smaps_rollup` of every shim process serving the containers (the parents of their init processes),",
    `summed and divided by the number of containers, read ${SETTLE_MS / 1000} s after the starts. Iterations: lifecycle`,
    `${plan.lifecycleRuns}, exec ${plan.execRuns}, kill ${plan.killRuns}, stdout ${plan.stdoutRuns}, library ${plan.libraryRuns}`,
    `(after ${WARMUP_RUNS} warm-up runs each), ${plan.concurrentRounds} round(s) of ${plan.concurrent} concurrent starts (mean).`,
    "",
    table(rows),
    "",
    "## Memory per container, every placement",
    "",
    "Sum over the shim processes serving the running containers, divided by their number (MiB); USS = private pages",
    "(Private_Clean + Private_Dirty), what those processes' exit would free. All counts of a variant come from one",
    `run that grows ${plan.memoryCounts.join(" → ")} (so a grouped variant is one process throughout); each figure is the`,
    `median of ${MEMORY_SAMPLES} readings 1 s apart, ${SETTLE_MS / 1000} s after the starts.`,
    "",
    memoryTable(input),
    "",
    "## Where husk's time goes: the shim binary on its own",
    "",
    "containerd runs the shim binary for `start` (every container) and `delete` (after every teardown, on the",
    "`ctr run --rm` critical path), and a new daemon's start-up is on the critical path of every container that",
    `does not join a running daemon. Each measured ${plan.microRuns} times, interleaved, median wall time:`,
    "",
    "| step | runc-v2 | husk |",
    "| --- | ---: | ---: |",
    `| \`start\`, the group's shim already up | ${ms(e.startRunc)} | ${ms(e.startLauncher)} (launcher: sh + C); ${ms(e.startNode)} in Node.js |`,
    `| \`delete\` after a clean teardown | ${ms(e.deleteRunc)} | ${ms(e.deleteLauncher)} (launcher); ${ms(e.deleteNode)} in Node.js |`,
    `| daemon start-up to "serving" | — | ${ms(e.daemonBundle)} (esbuild bundle); ${ms(e.daemonTsc)} (tsc output) |`,
    `| \`node -e 0\` | — | ${ms(e.nodeBare)} |`,
    "",
  ].join("\n");
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
