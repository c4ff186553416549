/**
 * What the benchmark ran on: CPU, cores, memory, kernel, tool versions, date and load — the header of RESULTS.md.
 */
import { spawnSync } from "node:child_process";
import { cpus, loadavg, release, totalmem } from "node:os";

/** The machine and software a run measured. */
export interface MachineDescription {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly containerd: string;
  readonly runc: string;
  readonly date: string;
}

function firstLine(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.status !== 0) return `(${command} unavailable)`;
  return result.stdout.split("\n")[0]?.trim() ?? "";
}

export function describeMachine(): MachineDescription {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: totalmem() / 2 ** 30,
    kernel: release(),
    node: process.version,
    containerd: firstLine("containerd", ["--version"]),
    runc: firstLine("runc", ["--version"]),
    date: new Date().toISOString(),
  };
}

/** The 1, 5 and 15 minute load averages as "a / b / c". */
export function loadAverage(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(" / ");
}
