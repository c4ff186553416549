/**
 * The native launcher (native/launcher, built to dist/launcher by `npm run bundle`) against the Node.js shim code it
 * stands in for. Each case runs the launcher twice: with `node` missing from PATH — so any hand-over to Node.js fails
 * with "cannot find node", which shows whether the fast path handled it — and with `node` available, where the result
 * must be the same either way. Expected socket paths come from src/shim/start.ts itself.
 *
 * Needs root (the shim socket directory is /run/containerd/s). Uses node:child_process; never loads the reaper.
 */
import assert from "node:assert/strict";
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  copyFileSync,
  existsSync,
  constants as fsc,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { DeleteResponseSchema } from "../../../src/api/index.js";
import type { Grouping } from "../../../src/shim/config.js";
import { GROUPING_CACHE_DIR, groupFor, socketPath } from "../../../src/shim/start.js";
import { repoRoot } from "../../e2e/support/runtime.js";

const ROOT = repoRoot();
const LAUNCHER = join(ROOT, "dist/launcher/containerd-shim-husk-v2");
const NODE_DIR = dirname(process.execPath);
/** A PATH without node: the launcher cannot hand over to Node.js. */
const NO_NODE_PATH = "/nonexistent-husk-test-dir";
const WITH_NODE_PATH = [NODE_DIR, process.env.PATH ?? "/usr/bin:/bin"].join(delimiter);

/** A protobuf length-delimited field (field numbers below 16). */
function bytesField(number: number, value: Buffer): Buffer {
  const length: number[] = [];
  let rest = value.length;
  while (rest >= 0x80) {
    length.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  length.push(rest);
  return Buffer.concat([Buffer.from([(number << 3) | 2, ...length]), value]);
}

/** `runtimeoptions.v1.Options{config_path}` in an Any, as containerd writes it to `start`'s stdin. */
function runtimeOptions(configPath: string): Buffer {
  const options = bytesField(2, Buffer.from(configPath));
  return Buffer.concat([bytesField(1, Buffer.from("runtimeoptions.v1.Options")), bytesField(2, options)]);
}

/** A unix socket file nobody listens on (what a SIGKILLed daemon leaves; Node.js removes its own on close). */
function deadSocket(path: string): void {
  const bound = spawnSync("python3", [
    "-c",
    "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
    path,
  ]);
  assert.equal(bound.status, 0, bound.stderr.toString());
}

interface Run {
  readonly status: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

function runLauncher(
  args: readonly string[],
  options: { cwd: string; withNode: boolean; stdin?: Buffer; env?: Record<string, string> },
): Run {
  const result: SpawnSyncReturns<Buffer> = spawnSync(LAUNCHER, args, {
    cwd: options.cwd,
    input: options.stdin ?? Buffer.alloc(0),
    env: {
      ...process.env,
      PATH: options.withNode ? WITH_NODE_PATH : NO_NODE_PATH,
      ...options.env,
      TTRPC_ADDRESS: "",
    },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}

function describeRun(run: Run): string {
  return `exit ${String(run.status)}, stdout ${JSON.stringify(run.stdout.toString())}, stderr ${JSON.stringify(run.stderr)}`;
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
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

/** What a non-blocking fd has to read right now. */
function readAvailable(fd: number): string {
  const chunk = Buffer.alloc(65536);
  try {
    return chunk.subarray(0, readSync(fd, chunk)).toString();
  } catch {
    return ""; // EAGAIN: nothing yet
  }
}

async function waitUntil(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("containerd-shim-husk-v2 native launcher", () => {
  const dir = mkdtempSync(join(tmpdir(), "husk-launcher-"));
  const token = randomBytes(6).toString("hex");
  /** containerd's -address: unique per run, so every socket hash is ours alone. */
  const address = join(dir, "containerd.sock");
  const namespace = `launcher-${token}`;
  const servers: Server[] = [];
  const cacheEntries: string[] = [];
  const sockets: string[] = [];
  const configs = new Map<Grouping, string>();
  let bundles = 0;

  /** A bundle dir holding `config.json` with the given text. */
  function bundle(specText: string): string {
    const path = join(dir, `bundle-${bundles++}`);
    mkdirSync(path);
    writeFileSync(join(path, "config.json"), specText);
    return path;
  }

  async function fakeDaemon(path: string): Promise<void> {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    rmSync(path, { force: true });
    servers.push(await listen(path));
    sockets.push(path);
  }

  /** A config file for `grouping`, with content no earlier run has seen (so no cache entry exists for it). */
  function configFile(grouping: Grouping): string {
    const path = join(dir, `${grouping}.toml`);
    const text = `# launcher test ${token}\ngrouping = "${grouping}"\n`;
    writeFileSync(path, text);
    cacheEntries.push(join(GROUPING_CACHE_DIR, createHash("sha256").update(text).digest("hex")));
    return path;
  }

  function startArgs(id: string): string[] {
    return [
      "-namespace",
      namespace,
      "-address",
      address,
      "-publish-binary",
      "/usr/bin/containerd",
      "-id",
      id,
      "start",
    ];
  }

  before(async () => {
    assert.ok(existsSync(LAUNCHER), `${LAUNCHER} is missing: run npm run bundle`);
    // Prime the grouping cache for each policy through Node.js, against a fake daemon of that policy's group.
    for (const grouping of ["container", "pod", "namespace"] as const) {
      const config = configFile(grouping);
      configs.set(grouping, config);
      const id = `prime-${grouping}`;
      const path = socketPath(address, namespace, groupFor(grouping, id, {}));
      await fakeDaemon(path);
      const cwd = bundle("{}");
      const env = { HUSK_SHIM_CONFIG: config };
      const unknown = runLauncher(startArgs(id), { cwd, withNode: false, env });
      assert.equal(unknown.status, 1, `a config never parsed goes to Node.js: ${describeRun(unknown)}`);
      assert.match(unknown.stderr, /cannot find node/);
      const primed = runLauncher(startArgs(id), { cwd, withNode: true, env });
      assert.equal(primed.status, 0, describeRun(primed));
      assert.equal(primed.stdout.toString(), `unix://${path}`);
      assert.equal(readFileSync(cacheEntries.at(-1) ?? "", "utf8"), grouping, "Node.js recorded the policy");
    }
  });

  after(async () => {
    for (const server of servers) await close(server);
    for (const path of [...sockets, ...cacheEntries]) rmSync(path, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  /** `fast`: the launcher answers alone under the pod policy (under the others the annotations do not matter). */
  const specs: readonly { name: string; text: string; fast: boolean }[] = [
    { name: "no annotations", text: '{"ociVersion":"1.0.2","process":{"args":["true"]}}', fast: true },
    {
      name: "the group annotation",
      text: '{"annotations":{"io.containerd.runc.v2.group":"web","io.kubernetes.cri.sandbox-id":"sb"}}',
      fast: true,
    },
    {
      name: "only CRI's sandbox id",
      text: '{"annotations":{"io.kubernetes.cri.sandbox-id":"sb-1"}}',
      fast: true,
    },
    {
      name: "a null group, then the sandbox id",
      text: '{"annotations":{"io.containerd.runc.v2.group":null,"io.kubernetes.cri.sandbox-id":"sb-2"}}',
      fast: true,
    },
    {
      name: "escaped key and value, duplicates (last wins), nesting",
      text:
        ' {"annotations":{"io.containerd.runc.v2.group":"first"},"x":[1,-2.5e3,{"a":[true,false,null]}],' +
        '"annotations":{"io.containerd.runc.v2\\u002egroup":"g\\u0041\\/b\\"c","io.containerd.runc.v2.group":"last"}}\n',
      fast: true,
    },
    {
      name: "a non-ASCII group",
      text: '{"annotations":{"io.containerd.runc.v2.group":"grüppe"}}',
      fast: false,
    },
    { name: "an empty group", text: '{"annotations":{"io.containerd.runc.v2.group":""}}', fast: false },
    { name: "a numeric group", text: '{"annotations":{"io.containerd.runc.v2.group":7}}', fast: false },
    { name: "annotations that are not an object", text: '{"annotations":["x"]}', fast: false },
    {
      name: "a group with a slash",
      text: '{"annotations":{"io.containerd.runc.v2.group":"a/b"}}',
      fast: false,
    },
  ];

  for (const grouping of ["pod", "container", "namespace"] as const) {
    for (const spec of specs) {
      it(`start (${grouping} policy, ${spec.name}): a listening daemon is reused, as start.ts would`, async () => {
        const id = `c-${grouping}-${bundles}`;
        const annotations = (JSON.parse(spec.text) as { annotations?: Record<string, string> }).annotations;
        const group = groupFor(grouping, id, Array.isArray(annotations) ? {} : (annotations ?? {}));
        const cwd = bundle(spec.text);
        const env = { HUSK_SHIM_CONFIG: configs.get(grouping) ?? "" };
        if (typeof group !== "string") {
          // start.ts cannot hash a non-string group either: it fails, and so must the launcher's hand-over.
          const failed = runLauncher(startArgs(id), { cwd, withNode: true, env });
          assert.equal(failed.status, 1, describeRun(failed));
          assert.equal(failed.stdout.length, 0);
          return;
        }
        const expected = socketPath(address, namespace, group);
        if (!sockets.includes(expected)) await fakeDaemon(expected);
        const alone = runLauncher(startArgs(id), { cwd, withNode: false, env });
        if (spec.fast || grouping !== "pod") {
          assert.equal(alone.status, 0, describeRun(alone));
          assert.equal(alone.stdout.toString(), `unix://${expected}`);
          assert.equal(alone.stderr, "");
          assert.equal(readFileSync(join(cwd, "address"), "utf8"), `unix://${expected}`);
        } else {
          assert.equal(alone.status, 1, `handed over to Node.js: ${describeRun(alone)}`);
          assert.match(alone.stderr, /cannot find node/);
        }
        rmSync(join(cwd, "address"), { force: true });
        const either = runLauncher(startArgs(id), { cwd, withNode: true, env });
        assert.equal(either.status, 0, describeRun(either));
        assert.equal(either.stdout.toString(), `unix://${expected}`);
        assert.equal(either.stderr, "");
        assert.equal(readFileSync(join(cwd, "address"), "utf8"), `unix://${expected}`);
      });
    }
  }

  it("start reads the config path from the runtime options on stdin, and hands them to Node.js intact", async () => {
    const id = "from-stdin";
    const expected = socketPath(address, namespace, groupFor("namespace", id, {}));
    if (!sockets.includes(expected)) await fakeDaemon(expected);
    const stdin = runtimeOptions(configs.get("namespace") ?? "");
    // HUSK_SHIM_CONFIG names the container policy, but the runtime options win.
    const env = { HUSK_SHIM_CONFIG: configs.get("container") ?? "" };
    const cwd = bundle("{}");
    const fast = runLauncher(startArgs(id), { cwd, withNode: false, env, stdin });
    assert.equal(fast.status, 0, describeRun(fast));
    assert.equal(fast.stdout.toString(), `unix://${expected}`);
    // A spec the launcher refuses: Node.js must see the same stdin bytes, so it still picks the namespace policy.
    const unusual = bundle('{"annotations":{"io.containerd.runc.v2.group":"grüppe"},"\\ud800":1}');
    const handed = runLauncher(startArgs(id), { cwd: unusual, withNode: true, env, stdin });
    assert.equal(handed.status, 0, describeRun(handed));
    assert.equal(handed.stdout.toString(), `unix://${expected}`);
  });

  it("start with invalid JSON fails in Node.js, as before", () => {
    const cwd = bundle('{"annotations":');
    const run = runLauncher(startArgs("bad-json"), {
      cwd,
      withNode: true,
      env: { HUSK_SHIM_CONFIG: configs.get("pod") ?? "" },
    });
    assert.equal(run.status, 1, describeRun(run));
    assert.match(run.stderr, /^containerd-shim-husk-v2: .*JSON/);
    assert.equal(run.stdout.length, 0);
  });

  for (const via of ["launcher", "node"] as const) {
    it(`start without a daemon launches one as start.ts does (${via})`, async () => {
      const id = `spawned-${via}`;
      // The non-ASCII group makes the launcher hand over to Node.js; the pod policy then uses it as the group.
      const specText =
        via === "launcher" ? "{}" : '{"annotations":{"io.containerd.runc.v2.group":"grüppe-2"}}';
      const group = via === "launcher" ? id : "grüppe-2";
      const expected = socketPath(address, namespace, group);
      const cwd = bundle(specText);
      spawnSync("mkfifo", [join(cwd, "log")]);
      sockets.push(expected);
      // A `node` on PATH that records each invocation: one for the daemon, plus one if `start` itself ran in Node.js.
      const wrapperDir = join(dir, `node-wrapper-${via}`);
      mkdirSync(wrapperDir);
      const invocations = join(wrapperDir, "invocations");
      writeFileSync(
        join(wrapperDir, "node"),
        `#!/bin/sh\necho "$*" >> '${invocations}'\nexec '${process.execPath}' "$@"\n`,
        { mode: 0o755 },
      );
      const env = {
        HUSK_SHIM_CONFIG: configs.get("pod") ?? "",
        PATH: `${wrapperDir}${delimiter}/usr/bin:/bin`,
      };
      const run = runLauncher(startArgs(id), { cwd, withNode: true, env });
      assert.equal(run.status, 0, describeRun(run));
      assert.equal(run.stdout.toString(), `unix://${expected}`);
      assert.equal(readFileSync(join(cwd, "address"), "utf8"), `unix://${expected}`);
      const pid = Number(readFileSync(join(cwd, "shim.pid"), "utf8"));
      // start returns once the daemon is forked; the `node` wrapper has to exec node before there is anything to see.
      await waitUntil(
        () => existsSync(invocations) && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("-socket"),
        `daemon ${pid} to exec node`,
      );
      const log = openSync(join(cwd, "log"), fsc.O_RDONLY | fsc.O_NONBLOCK);
      try {
        // One `node` ran: the daemon (launcher), or `start` itself, which then spawned the daemon with its own node.
        const ran = readFileSync(invocations, "utf8").trim().split("\n");
        assert.equal(ran.length, 1, `node invocations: ${ran.join(" | ")}`);
        assert.equal(ran[0]?.endsWith(" start"), via === "node", `node invocation: ${ran[0] ?? ""}`);
        assert.ok(isAlive(pid), `daemon ${pid} runs`);
        assert.equal((statSync(expected).mode & 0o777).toString(8), "600", "socket mode");
        const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0$/, "").split("\0");
        assert.deepEqual(argv.slice(2), [
          "-namespace",
          namespace,
          "-id",
          id,
          "-address",
          address,
          "-socket",
          expected,
        ]);
        assert.match(argv[1] ?? "", /(containerd-shim-husk-v2\.mjs|main\.js)$/);
        assert.equal(readlinkSync(`/proc/${pid}/fd/0`), "/dev/null");
        assert.equal(readlinkSync(`/proc/${pid}/fd/1`), "/dev/null");
        assert.equal(readlinkSync(`/proc/${pid}/fd/2`), join(cwd, "log"), "stderr is the log FIFO");
        assert.match(readlinkSync(`/proc/${pid}/fd/3`), /^socket:/, "fd 3 is the listening socket");
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        assert.equal(Number(fields[3]), pid, "the daemon leads its own session");
        const oom = Number(readFileSync(`/proc/${pid}/oom_score_adj`, "utf8"));
        const own = Number(readFileSync("/proc/self/oom_score_adj", "utf8"));
        assert.equal(oom, Math.min(1000, own + 1));
        // A second start of the same group finds it: no new process.
        const again = runLauncher(startArgs(id), { cwd: bundle(specText), withNode: true, env });
        assert.equal(again.stdout.toString(), `unix://${expected}`, describeRun(again));
        assert.equal(readFileSync(invocations, "utf8").trim().split("\n").length, via === "launcher" ? 1 : 2);
        // SIGTERM before the daemon has installed its handlers would kill it outright: wait until it serves.
        let logged = "";
        await waitUntil(() => {
          logged += readAvailable(log);
          return logged.includes("shim daemon serving");
        }, "the daemon to log that it serves");
      } finally {
        closeSync(log);
        process.kill(pid, "SIGTERM");
        await waitUntil(() => !isAlive(pid), `daemon ${pid} to exit`);
      }
      await waitUntil(() => !existsSync(expected), "the daemon to remove its socket");
      rmSync(`/run/husk/shim/${namespace}`, { recursive: true, force: true });
    });
  }

  it("hands over to the esbuild bundle unless tsc output is newer (then the bundle may be stale)", () => {
    // A copy of the launcher in a package layout of its own, with entries that only say which one ran.
    const packageRoot = join(dir, "package");
    mkdirSync(join(packageRoot, "dist/launcher"), { recursive: true });
    mkdirSync(join(packageRoot, "dist/bundle"), { recursive: true });
    mkdirSync(join(packageRoot, "dist/src/shim"), { recursive: true });
    const launcher = join(packageRoot, "dist/launcher/containerd-shim-husk-v2");
    copyFileSync(LAUNCHER, launcher);
    const bundleEntry = join(packageRoot, "dist/bundle/containerd-shim-husk-v2.mjs");
    const tscEntry = join(packageRoot, "dist/src/shim/main.js");
    writeFileSync(bundleEntry, 'process.stdout.write("bundle");\n');
    writeFileSync(tscEntry, 'process.stdout.write("tsc");\n');
    const ran = (): string =>
      spawnSync(launcher, ["-v"], { env: { ...process.env, PATH: WITH_NODE_PATH } }).stdout.toString();
    const at = (path: string, seconds: number): void => {
      utimesSync(path, seconds, seconds);
    };
    at(tscEntry, 1_000_000);
    at(bundleEntry, 1_000_001);
    assert.equal(ran(), "bundle", "a bundle built after tsc");
    at(bundleEntry, 1_000_000);
    assert.equal(ran(), "bundle", "built in the same instant");
    at(tscEntry, 1_000_002);
    assert.equal(ran(), "tsc", "tsc ran after the bundle");
    rmSync(tscEntry);
    assert.equal(ran(), "bundle", "no tsc output");
    rmSync(bundleEntry);
    writeFileSync(tscEntry, 'process.stdout.write("tsc");\n');
    assert.equal(ran(), "tsc", "no bundle");
  });

  describe("delete", () => {
    const runtimeRoot = join(dir, "runtime");

    function deleteBundle(): string {
      const path = bundle("{}");
      mkdirSync(join(path, "rootfs"));
      writeFileSync(join(path, "init.pid"), "4242\n");
      writeFileSync(
        join(path, "runtime.json"),
        JSON.stringify({ binary: "runc", root: runtimeRoot, systemdCgroup: false, globalArgs: [] }),
      );
      return path;
    }

    function deleteArgs(id: string, bundleDir: string): string[] {
      return ["-namespace", namespace, "-address", address, "-id", id, "-bundle", bundleDir, "delete"];
    }

    it("after a clean teardown answers without Node.js, like delete.ts, and removes a dead socket", () => {
      const bundleDir = deleteBundle();
      const dead = join(dir, "dead.sock");
      deadSocket(dead);
      writeFileSync(join(bundleDir, "address"), `unix://${dead}`);
      const startedMs = Date.now();
      const run = runLauncher(deleteArgs("gone", bundleDir), { cwd: dir, withNode: false });
      const afterMs = Date.now();
      assert.equal(run.status, 0, describeRun(run));
      assert.equal(run.stderr, "");
      const response = fromBinary(DeleteResponseSchema, run.stdout);
      assert.equal(response.pid, 4242);
      assert.equal(response.exitStatus, 137);
      const exitedMs =
        Number(response.exitedAt?.seconds ?? 0n) * 1000 + (response.exitedAt?.nanos ?? 0) / 1e6;
      assert.ok(exitedMs >= startedMs - 1000 && exitedMs <= afterMs + 1000, `exited_at ${exitedMs}`);
      assert.ok(!existsSync(dead), "a socket nobody listens on is removed");

      const reference = spawnSync(
        process.execPath,
        [join(ROOT, "dist/src/shim/main.js"), ...deleteArgs("gone", bundleDir)],
        {
          env: { ...process.env, TTRPC_ADDRESS: "" },
        },
      );
      assert.equal(reference.status, 0, reference.stderr.toString());
      const expected = fromBinary(DeleteResponseSchema, reference.stdout);
      assert.equal(response.pid, expected.pid);
      assert.equal(response.exitStatus, expected.exitStatus);
      // Same fields in the same order: only the time differs.
      assert.equal(
        run.stdout.subarray(0, 6).toString("hex"),
        reference.stdout.subarray(0, 6).toString("hex"),
      );
    });

    it("keeps the socket of a daemon that still listens", async () => {
      const bundleDir = deleteBundle();
      const live = join(dir, "live.sock");
      const server = await listen(live);
      servers.push(server);
      writeFileSync(join(bundleDir, "address"), `unix://${live}`);
      const run = runLauncher(deleteArgs("gone-too", bundleDir), { cwd: dir, withNode: false });
      assert.equal(run.status, 0, describeRun(run));
      assert.ok(existsSync(live));
    });

    it("leaves real cleanup to Node.js: runtime state, a mount under rootfs, another runtime", () => {
      const withState = deleteBundle();
      mkdirSync(join(runtimeRoot, "still-there"), { recursive: true });
      const mounted = deleteBundle();
      const mount = spawnSync("mount", ["-t", "tmpfs", "husk-launcher-test", join(mounted, "rootfs")]);
      assert.equal(mount.status, 0, mount.stderr.toString());
      const otherRuntime = deleteBundle();
      writeFileSync(
        join(otherRuntime, "runtime.json"),
        JSON.stringify({ binary: "runsc", root: runtimeRoot }),
      );
      try {
        for (const [id, bundleDir] of [
          ["still-there", withState],
          ["mounted", mounted],
          ["runsc-one", otherRuntime],
        ] as const) {
          const run = runLauncher(deleteArgs(id, bundleDir), { cwd: dir, withNode: false });
          assert.equal(run.status, 1, `${id} is handed to Node.js: ${describeRun(run)}`);
          assert.match(run.stderr, /cannot find node/);
        }
      } finally {
        spawnSync("umount", [join(mounted, "rootfs")]);
      }
    });
  });
});
