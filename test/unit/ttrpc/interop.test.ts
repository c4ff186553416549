/**
 * Interop with containerd's own ttrpc (Go, Debian's golang-github-containerd-ttrpc-dev): a small Go
 * program (test/interop/ttrpc-go) is the client of a husk server and the server for a husk client.
 * Needs Debian's golang-go and golang-github-containerd-ttrpc-dev; fails (does not skip) without them.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Echo } from "../../../src/gen/husk/test/v1/echo_pb.js";
import { createTtrpcClient, StatusCode, type TtrpcError } from "../../../src/ttrpc/index.js";
import { startEchoServer, tempDir, within } from "./helpers.js";

const run = promisify(execFile);
const SOURCE_DIR = fileURLToPath(new URL("../../../../test/interop/ttrpc-go/", import.meta.url));
const GOCODE = "/usr/share/gocode";
const TTRPC_GO = join(GOCODE, "src/github.com/containerd/ttrpc");

/** Builds the Go peer once per source version (cached in the temp dir) and returns the binary path. */
async function buildGoPeer(): Promise<string> {
  const go = await run("go", ["version"]).catch((error: unknown) => {
    throw new Error(
      `the Go interop test needs Debian's golang-go ("go version" failed: ${(error as Error).message}); ` +
        "install it with: apt-get install golang-go golang-github-containerd-ttrpc-dev",
    );
  });
  if (!existsSync(join(TTRPC_GO, "client.go"))) {
    throw new Error(
      `containerd's Go ttrpc sources are missing at ${TTRPC_GO}; ` +
        "install them with: apt-get install golang-github-containerd-ttrpc-dev",
    );
  }
  const hash = createHash("sha256").update(go.stdout);
  hash.update(await readFile(join(TTRPC_GO, "client.go")));
  for (const name of (await readdir(SOURCE_DIR)).filter((n) => n.endsWith(".go")).sort()) {
    hash.update(name).update(await readFile(join(SOURCE_DIR, name)));
  }
  const cacheDir = join(tmpdir(), `husk-ttrpc-go-${hash.digest("hex").slice(0, 16)}`);
  const binary = join(cacheDir, "ttrpc-go");
  if (existsSync(binary)) return binary;

  const work = await mkdtemp(join(tmpdir(), "husk-ttrpc-go-build-"));
  try {
    await mkdir(join(work, "gopath"));
    await run("go", ["build", "-o", join(work, "out", "ttrpc-go"), "."], {
      cwd: SOURCE_DIR,
      timeout: 600_000,
      env: {
        ...process.env,
        GOPATH: `${join(work, "gopath")}:${GOCODE}`,
        GO111MODULE: "off",
        GOFLAGS: "",
        GOCACHE: join(tmpdir(), "husk-go-build-cache"),
      },
    }).catch((error: unknown) => {
      const stderr = (error as { stderr?: string }).stderr ?? "";
      throw new Error(`building the Go ttrpc peer failed: ${(error as Error).message}\n${stderr}`);
    });
    // Rename is atomic: a concurrent test run either sees the whole cache dir or none.
    await rename(join(work, "out"), cacheDir).catch((error: unknown) => {
      if (!existsSync(binary)) throw error;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return binary;
}

interface StatusReport {
  code: number;
  message: string;
}

interface ClientReport {
  unary: { status: StatusReport; text: string; metadata: string[] | null; timeoutNano: number };
  failure: StatusReport;
  unknownMethod: StatusReport;
  deadline: { status: StatusReport; elapsedMs: number; serverSaw: string; lastStatus: StatusReport };
  concurrent: { calls: number; correct: number; failures: string[] };
}

/** Starts the Go peer as a server on `path`; resolves once it prints "ready". Killed after the test. */
async function startGoServer(t: TestContext, binary: string, path: string) {
  const child = spawn(binary, ["server", path], { stdio: ["pipe", "pipe", "pipe"] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
  });
  let stdout = "";
  child.stdout.setEncoding("utf8");
  await within(
    new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (s: string) => {
        stdout += s;
        if (stdout.includes("ready\n")) resolve();
      });
      child.once("exit", (code) => {
        reject(new Error(`Go server exited with ${code}: ${stderr}`));
      });
    }),
    30_000,
    "the Go server to be ready",
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { child, exited, stderr: () => stderr };
}

describe("ttrpc interop with containerd's Go ttrpc", () => {
  it("Go client → husk server: metadata, status error, expiring deadline, 100 concurrent calls", async (t) => {
    const binary = await buildGoPeer();
    const { path, probe, server } = await startEchoServer(t);
    const { stdout } = await run(binary, ["client", path], { timeout: 60_000 }).catch((error: unknown) => {
      const stderr = (error as { stderr?: string }).stderr ?? "";
      throw new Error(`Go client failed: ${(error as Error).message}\n${stderr}`);
    });
    const report = JSON.parse(stdout) as ClientReport;

    assert.deepEqual(report.unary.status, { code: 0, message: "" });
    assert.equal(report.unary.text, "hello from go");
    assert.deepEqual(report.unary.metadata, [
      "containerd-namespace-ttrpc=interop",
      "x-husk-multi=one",
      "x-husk-multi=two",
    ]);
    assert.ok(
      report.unary.timeoutNano > 0 && report.unary.timeoutNano <= 60e9,
      `${report.unary.timeoutNano}`,
    );

    assert.deepEqual(report.failure, { code: StatusCode.AlreadyExists, message: "id e2: already exists" });
    assert.deepEqual(report.unknownMethod, {
      code: StatusCode.Unimplemented,
      message: "method NoSuchMethod",
    });

    assert.equal(report.deadline.status.code, StatusCode.DeadlineExceeded);
    assert.deepEqual(report.deadline.lastStatus, { code: 0, message: "" });
    // The husk handler's signal fired with the deadline the Go client sent in timeout_nano.
    assert.equal(report.deadline.serverSaw, "context deadline exceeded");
    const signal = probe.sleepSignals[0];
    assert.equal(signal?.aborted, true);
    assert.equal((signal.reason as TtrpcError).code, StatusCode.DeadlineExceeded);

    assert.deepEqual(report.concurrent, { calls: 100, correct: 100, failures: [] });
    assert.equal(server.stats().brokenConnections, 0);
  });

  it("husk client → Go server: metadata, status error, expiring deadline, 100 concurrent calls", async (t) => {
    const binary = await buildGoPeer();
    const dir = await tempDir(t);
    const path = join(dir, "go.sock");
    const go = await startGoServer(t, binary, path);
    const client = await createTtrpcClient(path);
    t.after(() => client.close());
    const echo = client.service(Echo);

    const reply = await echo.echo(
      { text: "hello from husk" },
      {
        metadata: { "containerd-namespace-ttrpc": "interop", "X-Husk-Multi": ["one", "two"] },
        timeoutMs: 60_000,
      },
    );
    assert.equal(reply.text, "hello from husk");
    assert.deepEqual(reply.metadata, [
      "containerd-namespace-ttrpc=interop",
      "x-husk-multi=one",
      "x-husk-multi=two",
    ]);
    assert.ok(reply.timeoutNano > 0n && reply.timeoutNano <= 60_000_000_000n, `${reply.timeoutNano}`);
    assert.equal((await echo.echo({ text: "no deadline" })).timeoutNano, 0n);

    await assert.rejects(
      echo.fail({ failCode: StatusCode.NotFound, failMessage: "process already finished: not found" }),
      {
        code: StatusCode.NotFound,
        message: "process already finished: not found",
      },
    );
    await assert.rejects(
      echo.fail({ failCode: StatusCode.AlreadyExists, failMessage: "id e2: already exists" }),
      {
        code: StatusCode.AlreadyExists,
        message: "id e2: already exists",
      },
    );
    await assert.rejects(
      client.call("husk.test.v1.Echo", "Nope", Echo.method.echo.input, {}, Echo.method.echo.output),
      { code: StatusCode.Unimplemented, message: "method Nope" },
    );
    await assert.rejects(
      client.call("no.Such", "Echo", Echo.method.echo.input, {}, Echo.method.echo.output),
      {
        code: StatusCode.Unimplemented,
        message: "service no.Such",
      },
    );

    await assert.rejects(echo.sleep({ sleepMs: 60_000 }, { timeoutMs: 300 }), {
      code: StatusCode.DeadlineExceeded,
    });
    // The Go handler's context expired from the timeout_nano husk sent.
    assert.equal((await echo.lastSleep({})).text, "context deadline exceeded");

    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) => echo.echo({ text: `call-${i}` })),
    );
    replies.forEach((r, i) => {
      assert.equal(r.text, `call-${i}`);
    });

    go.child.stdin.end();
    assert.equal(await within(go.exited, 10_000, "the Go server to exit"), 0, go.stderr());
  });
});
