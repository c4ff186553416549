/**
 * The shim binary's own costs, outside containerd: `start` when the group's shim is already up, `delete` after a clean
 * teardown (runc-v2 and husk, same inputs), and the husk daemon's start-up until it serves. Everything lives in one
 * temp dir and a unique namespace; sockets, runtime state dirs and daemons are removed at the end, also on failure.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { socketPath } from "../src/shim/start.js";
import { describeRuntime, RUNC_RUNTIME, repoRoot } from "../test/e2e/support/runtime.js";
import { median, nowMs } from "./stats.js";

/** Median wall times in ms. */
export interface EconomyResults {
  readonly startRunc: number;
  readonly startLauncher: number;
  readonly startNode: number;
  readonly deleteRunc: number;
  readonly deleteLauncher: number;
  readonly deleteNode: number;
  readonly daemonBundle: number;
  readonly daemonTsc: number;
  readonly nodeBare: number;
}

interface Finished {
  readonly ms: number;
  readonly status: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs a command to completion (stdin /dev/null) and times it. */
function timed(
  argv: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv },
  children: Set<ChildProcess>,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const [command = "", ...args] = argv;
    const started = nowMs();
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    const stdout: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (status) => {
      children.delete(child);
      resolve({ ms: nowMs() - started, status, stdout: Buffer.concat(stdout), stderr });
    });
  });
}

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once("error", reject);
    server.listen(path, () => {
      resolve(server);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
}

/**
 * Starts the husk daemon from `entry` with a listening socket as fd 3 (as `start` hands it over) and no containerd to
 * publish to; resolves with the time until it logs that it serves, then stops it (SIGTERM) and waits for its exit.
 */
async function daemonStartup(
  entry: string,
  flags: { namespace: string; address: string; socket: string },
  children: Set<ChildProcess>,
): Promise<number> {
  const server = await listen(flags.socket);
  try {
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    const started = nowMs();
    const child = spawn(
      process.execPath,
      [
        entry,
        "-namespace",
        flags.namespace,
        "-id",
        "daemon",
        "-address",
        flags.address,
        "-socket",
        flags.socket,
      ],
      { stdio: ["ignore", "ignore", "pipe", fd], env: { ...process.env, TTRPC_ADDRESS: "" } },
    );
    children.add(child);
    const exited = new Promise<void>((resolve) =>
      child.on("close", () => {
        resolve();
      }),
    );
    let stderr = "";
    const serving = await new Promise<number>((resolve, reject) => {
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes("shim daemon serving")) resolve(nowMs() - started);
      });
      void exited.then(() => {
        reject(new Error(`daemon ${entry} exited before serving: ${stderr}`));
      });
    });
    child.kill("SIGTERM");
    await exited;
    children.delete(child);
    return serving;
  } finally {
    await close(server);
  }
}

export async function measureEconomy(
  runs: number,
  podConfig: string,
  children: Set<ChildProcess>,
): Promise<EconomyResults> {
  const root = repoRoot();
  const huskBin = join(root, "bin/containerd-shim-husk-v2");
  const bundleEntry = join(root, "dist/bundle/containerd-shim-husk-v2.mjs");
  const tscEntry = join(root, "dist/src/shim/main.js");
  const runcShim = describeRuntime(RUNC_RUNTIME).absolutePath;
  const dir = mkdtempSync(join(tmpdir(), "husk-bench-micro-"));
  const namespace = `bench-micro-${randomBytes(5).toString("hex")}`;
  const address = join(dir, "containerd.sock");
  const env = { ...process.env, HUSK_SHIM_CONFIG: podConfig, TTRPC_ADDRESS: "" };
  const servers: Server[] = [];
  try {
    // start: both shims hash "<address>/<ns>/<group>", so one listener is the running shim for both.
    const startBundle = join(dir, "start-bundle");
    mkdirSync(startBundle);
    writeFileSync(join(startBundle, "config.json"), '{"annotations":{"io.containerd.runc.v2.group":"g"}}');
    const groupSocket = socketPath(address, namespace, "g");
    mkdirSync(join(groupSocket, ".."), { recursive: true, mode: 0o700 });
    servers.push(await listen(groupSocket));
    const startArgs = [
      "-namespace",
      namespace,
      "-address",
      address,
      "-publish-binary",
      "/usr/bin/containerd",
    ];

    // delete: a bundle with nothing left to clean (runtime container gone, rootfs unmounted), for each shim.
    const deleteId = "deleted";
    const huskBundle = join(dir, "husk", deleteId);
    mkdirSync(join(huskBundle, "rootfs"), { recursive: true });
    writeFileSync(join(huskBundle, "init.pid"), "1");
    writeFileSync(
      join(huskBundle, "runtime.json"),
      JSON.stringify({ binary: "runc", root: join(dir, "runtime"), systemdCgroup: false, globalArgs: [] }),
    );
    const runcBundle = join(dir, "runc", deleteId);
    mkdirSync(join(runcBundle, "rootfs"), { recursive: true });
    writeFileSync(join(runcBundle, "init.pid"), "1");
    writeFileSync(join(runcBundle, "runtime"), "runc");
    const deleteArgs = (bundle: string): string[] => [
      ...startArgs,
      "-id",
      deleteId,
      "-bundle",
      bundle,
      "delete",
    ];

    const cases: { key: keyof EconomyResults; run: () => Promise<number> }[] = [];
    const expectOk = async (
      argv: readonly string[],
      cwd: string,
      check: (result: Finished) => boolean,
    ): Promise<number> => {
      const result = await timed(argv, { cwd, env }, children);
      if (result.status !== 0 || !check(result)) {
        throw new Error(`${argv.join(" ")} → ${String(result.status)}: ${result.stderr}`);
      }
      return result.ms;
    };
    const printsAddress = (result: Finished): boolean => result.stdout.toString() === `unix://${groupSocket}`;
    const printsResponse = (result: Finished): boolean => result.stdout.length > 0;
    cases.push(
      {
        key: "startRunc",
        run: () => expectOk([runcShim, ...startArgs, "-id", "s", "start"], startBundle, printsAddress),
      },
      {
        key: "startLauncher",
        run: () => expectOk([huskBin, ...startArgs, "-id", "s", "start"], startBundle, printsAddress),
      },
      {
        key: "startNode",
        run: () =>
          expectOk(
            [process.execPath, bundleEntry, ...startArgs, "-id", "s", "start"],
            startBundle,
            printsAddress,
          ),
      },
      {
        key: "deleteRunc",
        run: () => expectOk([runcShim, ...deleteArgs(runcBundle)], runcBundle, printsResponse),
      },
      {
        key: "deleteLauncher",
        run: () => expectOk([huskBin, ...deleteArgs(huskBundle)], dir, printsResponse),
      },
      {
        key: "deleteNode",
        run: () => expectOk([process.execPath, bundleEntry, ...deleteArgs(huskBundle)], dir, printsResponse),
      },
      {
        key: "daemonBundle",
        run: () =>
          daemonStartup(bundleEntry, { namespace, address, socket: join(dir, "daemon.sock") }, children),
      },
      {
        key: "daemonTsc",
        run: () =>
          daemonStartup(tscEntry, { namespace, address, socket: join(dir, "daemon.sock") }, children),
      },
      { key: "nodeBare", run: () => expectOk([process.execPath, "-e", "0"], dir, () => true) },
    );

    const samples = new Map<keyof EconomyResults, number[]>(cases.map((c) => [c.key, []]));
    // One warm-up round: the first husk start of a config file goes through Node.js and records its policy.
    for (let i = 0; i < runs + 1; i++) {
      for (const item of cases) {
        const ms = await item.run();
        if (i > 0) samples.get(item.key)?.push(ms);
      }
    }
    const result = (key: keyof EconomyResults): number => median(samples.get(key) ?? []);
    return {
      startRunc: result("startRunc"),
      startLauncher: result("startLauncher"),
      startNode: result("startNode"),
      deleteRunc: result("deleteRunc"),
      deleteLauncher: result("deleteLauncher"),
      deleteNode: result("deleteNode"),
      daemonBundle: result("daemonBundle"),
      daemonTsc: result("daemonTsc"),
      nodeBare: result("nodeBare"),
    };
  } finally {
    for (const server of servers) await close(server);
    rmSync(dir, { recursive: true, force: true });
    // runc creates its --root; the husk daemon its state dir: both named after our unique namespace.
    rmSync(join("/run/containerd/runc", namespace), { recursive: true, force: true });
    rmSync(join("/run/husk/shim", namespace), { recursive: true, force: true });
  }
}
