/**
 * Library mode, in its own process (it loads husk's native reaper, so it must never use node:child_process): runs
 * `/bin/true` through husk's Supervisor (create, start, wait, delete), through a bare `runc run` of the same bundle,
 * and through the three runtime calls the Supervisor makes (`runc create`, `runc start`, wait, `runc delete`) with
 * nothing else, interleaved; prints `{"husk": [ms…], "runc": [ms…], "runcSteps": [ms…]}` on stdout.
 * Usage: `node library-worker.js RUNS`.
 * Everything it creates lives in one temp dir, removed at the end and on SIGTERM/SIGINT.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSupervisor } from "../src/container/index.js";
import { writeBundle } from "../src/oci/index.js";
import { getReaper, runCommand } from "../src/sys/index.js";
import { makeRootfs } from "../test/support/make-rootfs.js";
import { nowMs } from "./stats.js";

const WARMUP_RUNS = 2;
const NULL_STDIO = { stdin: { kind: "null" }, stdout: { kind: "null" }, stderr: { kind: "null" } } as const;

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? "30");
  const dir = mkdtempSync(join(tmpdir(), "husk-bench-lib-"));
  const huskRoot = join(dir, "runtime-husk");
  const bareRoot = join(dir, "runtime-bare");
  const stepsRoot = join(dir, "runtime-steps");
  const supervisor = createSupervisor({ stateDir: join(dir, "state"), runtime: { root: huskRoot } });
  const cleanup = async (): Promise<void> => {
    await supervisor.close();
    // A bare run interrupted mid-way may leave its runtime container: remove it before the dir.
    const listed = await runCommand("runc", ["--root", bareRoot, "list", "-q"]);
    for (const id of listed.stdout
      .toString()
      .split("\n")
      .filter((line) => line !== "")) {
      await runCommand("runc", ["--root", bareRoot, "delete", "--force", id]);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    const rootfs = makeRootfs(join(dir, "rootfs"));
    const bundle = join(dir, "bundle");
    await writeBundle(bundle, { rootfs, args: ["/bin/true"] });
    const husk: number[] = [];
    const runc: number[] = [];
    const runcSteps: number[] = [];
    const quiet = { stdin: "null", stdout: "null", stderr: "null" } as const;
    const steps = async (id: string): Promise<void> => {
      // The init becomes our child when `runc create` exits (we are a subreaper): capture its exit from the start.
      const capture = getReaper().capture();
      try {
        const pidFile = join(dir, `${id}.pid`);
        const runtime = ["--root", stepsRoot];
        const created = await runCommand(
          "runc",
          [...runtime, "create", "--bundle", bundle, "--pid-file", pidFile, id],
          quiet,
        );
        if (created.status !== 0) throw new Error(`runc create exited with ${created.status}`);
        const pid = Number(readFileSync(pidFile, "utf8"));
        const started = await runCommand("runc", [...runtime, "start", id], quiet);
        if (started.status !== 0) throw new Error(`runc start exited with ${started.status}`);
        await capture.waitFor(pid);
        const deleted = await runCommand("runc", [...runtime, "delete", id], quiet);
        if (deleted.status !== 0) throw new Error(`runc delete exited with ${deleted.status}`);
      } finally {
        capture.close();
      }
    };
    for (let i = 0; i < runs + WARMUP_RUNS; i++) {
      const huskStart = nowMs();
      const container = await supervisor.create({ id: `lib-${i}`, bundle, stdio: NULL_STDIO });
      await container.start();
      const exit = await container.wait();
      await container.delete();
      const huskMs = nowMs() - huskStart;
      if (exit.status !== 0) throw new Error(`husk: /bin/true exited with ${exit.status}`);

      const runcStart = nowMs();
      const result = await runCommand(
        "runc",
        ["--root", bareRoot, "run", "--bundle", bundle, `bare-${i}`],
        quiet,
      );
      const runcMs = nowMs() - runcStart;
      if (result.status !== 0) throw new Error(`runc run exited with ${result.status}`);

      const stepsStart = nowMs();
      await steps(`steps-${i}`);
      const stepsMs = nowMs() - stepsStart;
      if (i >= WARMUP_RUNS) {
        husk.push(huskMs);
        runc.push(runcMs);
        runcSteps.push(stepsMs);
      }
    }
    process.stdout.write(`${JSON.stringify({ husk, runc, runcSteps })}\n`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `library worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
