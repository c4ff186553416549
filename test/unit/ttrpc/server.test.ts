import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { notFound } from "../../../src/errors.js";
import { Echo, type EchoRequest, EchoResponseSchema } from "../../../src/gen/husk/test/v1/echo_pb.js";
import { RequestSchema } from "../../../src/gen/ttrpc/ttrpc_pb.js";
import {
  type CallContext,
  createTtrpcClient,
  createTtrpcServer,
  encodeFrame,
  MessageType,
  type ServiceImpl,
  StatusCode,
  TtrpcError,
} from "../../../src/ttrpc/index.js";
import { echoImpl, RawPeer, recordingLogger, startEchoServer, tempDir, within } from "./helpers.js";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

/** Polls `condition` until it holds (each turn of the event loop), failing after `ms`. */
async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function client(t: TestContext, path: string) {
  const c = await createTtrpcClient(path);
  t.after(() => c.close());
  return c;
}

describe("ttrpc server: wire format", () => {
  it("answers success with the payload and no status field", async (t) => {
    const { path } = await startEchoServer(t);
    const peer = await RawPeer.connect(t, path);
    peer.sendRequest(1, "Echo", { text: "hi" });
    await peer.waitFrames(1);
    const frame = peer.frames[0];
    assert.equal(frame?.header.streamId, 1);
    assert.equal(frame.header.type, MessageType.Response);
    const response = peer.response(0);
    assert.equal(response.status, undefined);
    assert.equal(fromBinary(EchoResponseSchema, response.payload).text, "hi");
  });

  it("sends an empty OK response as a zero-length frame (observed: 00000000 00000011 02 00)", async (t) => {
    const { path } = await startEchoServer(t);
    const peer = await RawPeer.connect(t, path);
    peer.sendRequest(17, "Echo", {});
    await peer.waitFrames(1);
    const frame = peer.frames[0];
    assert.ok(frame);
    assert.equal(
      hex(encodeFrame(frame.header.streamId, frame.header.type, frame.payload)),
      "00000000000000110200",
    );
  });

  it("sends a status error as the observed 27-byte body (0a 19 08 06 12 15 + text)", async (t) => {
    const { path } = await startEchoServer(t);
    const peer = await RawPeer.connect(t, path);
    peer.sendRequest(0x31, "Fail", { failCode: 6, failMessage: "id e2: already exists" });
    await peer.waitFrames(1);
    const frame = peer.frames[0];
    assert.ok(frame);
    assert.equal(
      hex(encodeFrame(frame.header.streamId, frame.header.type, frame.payload)),
      `0000001b0000003102000a1908061215${Buffer.from("id e2: already exists").toString("hex")}`,
    );
  });

  it("answers Unimplemented for an unknown service or method, with ttrpc's texts", async (t) => {
    const { path } = await startEchoServer(t);
    const peer = await RawPeer.connect(t, path);
    peer.write(
      encodeFrame(
        1,
        MessageType.Request,
        toBinary(RequestSchema, create(RequestSchema, { service: "no.such.Service", method: "Echo" })),
      ),
    );
    peer.sendRequest(3, "NoSuchMethod");
    await peer.waitFrames(2);
    const byStream = new Map(peer.frames.map((f, i) => [f.header.streamId, peer.response(i)]));
    assert.deepEqual(
      [byStream.get(1)?.status?.code, byStream.get(1)?.status?.message],
      [StatusCode.Unimplemented, "service no.such.Service"],
    );
    assert.deepEqual(
      [byStream.get(3)?.status?.code, byStream.get(3)?.status?.message],
      [StatusCode.Unimplemented, "method NoSuchMethod"],
    );
  });

  it("answers a method the implementation lacks with Unimplemented", async (t) => {
    const dir = await tempDir(t);
    const server = createTtrpcServer();
    const { impl } = echoImpl();
    const partial: Partial<ServiceImpl<typeof Echo>> = { echo: impl.echo };
    server.register(Echo, partial as ServiceImpl<typeof Echo>);
    await server.listen(join(dir, "s.sock"));
    t.after(() => server.close());
    const echo = (await client(t, join(dir, "s.sock"))).service(Echo);
    assert.equal((await echo.echo({ text: "x" })).text, "x");
    await assert.rejects(echo.lastSleep({}), { code: StatusCode.Unimplemented, message: "method LastSleep" });
  });

  it("rejects an even stream id with InvalidArgument on that stream", async (t) => {
    const { path } = await startEchoServer(t);
    const peer = await RawPeer.connect(t, path);
    peer.sendRequest(4, "Echo", { text: "even" });
    peer.sendRequest(5, "Echo", { text: "odd" });
    await peer.waitFrames(2);
    assert.equal(peer.frames[0]?.header.streamId, 4);
    assert.deepEqual(peer.response(0).status?.code, StatusCode.InvalidArgument);
    assert.equal(peer.response(0).status?.message, "StreamID must be odd for client initiated streams");
    assert.equal(fromBinary(EchoResponseSchema, peer.response(1).payload).text, "odd");
  });

  it("answers Internal for an undecodable payload and InvalidArgument for an undecodable envelope", async (t) => {
    const { path } = await startEchoServer(t);
    const peer = await RawPeer.connect(t, path);
    const badPayload = create(RequestSchema, {
      service: Echo.typeName,
      method: "Echo",
      payload: Uint8Array.of(0x0a, 0x05, 0x61), // string field announcing 5 bytes, 1 present
    });
    peer.write(encodeFrame(1, MessageType.Request, toBinary(RequestSchema, badPayload)));
    peer.write(encodeFrame(3, MessageType.Request, Uint8Array.of(0x0a, 0x7f, 0x00)));
    peer.sendRequest(5, "Echo", { text: "still serving" });
    await peer.waitFrames(3);
    const first = peer.response(0).status;
    assert.equal(first?.code, StatusCode.Internal);
    assert.match(first.message, /^ttrpc: error unmarshalling payload: /);
    const second = peer.response(1).status;
    assert.equal(second?.code, StatusCode.InvalidArgument);
    assert.match(second.message, /^unmarshal request error: /);
    assert.equal(fromBinary(EchoResponseSchema, peer.response(2).payload).text, "still serving");
  });

  it("answers calls as they finish, not in request order", async (t) => {
    const { path, probe } = await startEchoServer(t);
    const peer = await RawPeer.connect(t, path);
    peer.sendRequest(1, "Sleep", { sleepMs: 60_000 });
    await within(probe.sleepStarted(1), 5000, "sleep to start");
    peer.sendRequest(3, "Echo", { text: "quick" });
    await peer.waitFrames(1);
    assert.equal(peer.frames[0]?.header.streamId, 3);
  });
});

describe("ttrpc server: handlers", () => {
  it("delivers metadata with lower-cased keys and the deadline", async (t) => {
    const { path } = await startEchoServer(t);
    const c = await client(t, path);
    const echo = c.service(Echo);
    const reply = await echo.echo(
      { text: "m" },
      { metadata: { "Containerd-Namespace-Ttrpc": "ns1", "x-multi": ["a", "b"] }, timeoutMs: 60_000 },
    );
    assert.deepEqual(reply.metadata, ["containerd-namespace-ttrpc=ns1", "x-multi=a", "x-multi=b"]);
    assert.ok(
      reply.timeoutNano > 0n && reply.timeoutNano <= 60_000_000_000n,
      `timeoutNano ${reply.timeoutNano}`,
    );
    assert.equal((await echo.echo({ text: "none" })).timeoutNano, 0n);
  });

  it("maps thrown errors: status-shaped errors keep code and message, others become Unknown", async (t) => {
    const dir = await tempDir(t);
    const server = createTtrpcServer();
    const { impl } = echoImpl();
    const thrown: Record<string, unknown> = {
      husk: notFound('container "c1" not found'),
      plain: new Error("plain failure"),
      outOfRange: Object.assign(new Error("odd code"), { code: 99 }),
      errno: Object.assign(new Error("ENOENT: no such file"), { code: "ENOENT" }),
      okCode: Object.assign(new Error("claims ok"), { code: 0 }),
      nonError: 42,
    };
    server.register(Echo, {
      ...impl,
      fail: (request: EchoRequest) => {
        throw thrown[request.text];
      },
    });
    await server.listen(join(dir, "s.sock"));
    t.after(() => server.close());
    const echo = (await client(t, join(dir, "s.sock"))).service(Echo);
    const outcome = async (text: string) => {
      const error = await echo.fail({ text }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof TtrpcError);
      return [error.code, error.message];
    };
    assert.deepEqual(await outcome("husk"), [StatusCode.NotFound, 'container "c1" not found']);
    assert.deepEqual(await outcome("plain"), [StatusCode.Unknown, "plain failure"]);
    assert.deepEqual(await outcome("outOfRange"), [StatusCode.Unknown, "odd code"]);
    assert.deepEqual(await outcome("errno"), [StatusCode.Unknown, "ENOENT: no such file"]);
    assert.deepEqual(await outcome("okCode"), [StatusCode.Unknown, "claims ok"]);
    assert.deepEqual(await outcome("nonError"), [StatusCode.Unknown, "42"]);
  });

  it("aborts the handler's signal when the deadline passes and answers DeadlineExceeded", async (t) => {
    const { path, probe } = await startEchoServer(t);
    const peer = await RawPeer.connect(t, path);
    peer.sendRequest(1, "Sleep", { sleepMs: 60_000 }, { timeoutNano: 50_000_000n });
    await peer.waitFrames(1);
    assert.deepEqual(
      [peer.response(0).status?.code, peer.response(0).status?.message],
      [StatusCode.DeadlineExceeded, "context deadline exceeded"],
    );
    const signal = probe.sleepSignals[0];
    assert.equal(signal?.aborted, true);
    assert.equal((signal.reason as TtrpcError).code, StatusCode.DeadlineExceeded);
  });

  it("gives an already-expired deadline to the handler as an aborted signal", async (t) => {
    const { path, probe } = await startEchoServer(t);
    const peer = await RawPeer.connect(t, path);
    peer.sendRequest(1, "Sleep", { sleepMs: 60_000 }, { timeoutNano: -5n });
    await peer.waitFrames(1);
    assert.equal(peer.response(0).status?.code, StatusCode.DeadlineExceeded);
    assert.equal(probe.sleepSignals.length, 1);
  });

  it("handles 1,000 concurrent calls on one connection", async (t) => {
    const { path, server } = await startEchoServer(t);
    const echo = (await client(t, path)).service(Echo);
    const replies = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => echo.echo({ text: `call ${i}` })),
    );
    replies.forEach((reply, i) => {
      assert.equal(reply.text, `call ${i}`);
    });
    assert.equal(server.stats().completedCalls, 1000);
    assert.equal(server.stats().inFlightCalls, 0);
  });

  it("keeps 1,000 blocked calls in flight on one connection while answering others", async (t) => {
    const { path, probe, server } = await startEchoServer(t);
    const c = await client(t, path);
    const echo = c.service(Echo);
    const blocked = Array.from({ length: 1000 }, () =>
      echo.sleep({ sleepMs: 600_000 }).then(
        () => "answered",
        (e: unknown) => (e as TtrpcError).message,
      ),
    );
    await within(probe.sleepStarted(1000), 20_000, "1000 sleeps");
    assert.equal(server.stats().inFlightCalls, 1000);
    assert.equal((await echo.echo({ text: "meanwhile" })).text, "meanwhile");
    await c.close();
    assert.deepEqual(new Set(await Promise.all(blocked)), new Set(["ttrpc: closed"]));
    await until(() => server.stats().inFlightCalls === 0, 5000, "handlers to be cancelled");
    assert.ok(probe.sleepSignals.every((s) => s.aborted));
  });

  it("cancels the handler when its client disconnects mid-call, and keeps serving others", async (t) => {
    const { path, probe, server } = await startEchoServer(t);
    const other = (await client(t, path)).service(Echo);
    const peer = await RawPeer.connect(t, path);
    peer.sendRequest(1, "Sleep", { sleepMs: 60_000 });
    await within(probe.sleepStarted(1), 5000, "sleep to start");
    const signal = probe.sleepSignals[0];
    assert.ok(signal);
    const aborted = once(signal, "abort");
    peer.socket.destroy();
    await within(aborted, 5000, "handler signal to abort");
    assert.equal((signal.reason as TtrpcError).code, StatusCode.Canceled);
    assert.equal((await other.echo({ text: "unaffected" })).text, "unaffected");
    await until(() => server.stats().inFlightCalls === 0, 5000, "in-flight count to drop");
    assert.equal(server.stats().connections, 1);
  });
});

describe("ttrpc server: broken connections close alone", () => {
  async function expectCloseAlone(
    t: TestContext,
    misbehave: (peer: RawPeer) => void,
    reason: RegExp,
  ): Promise<RawPeer> {
    const logger = recordingLogger();
    const { path, server } = await startEchoServer(t, { logger });
    const good = (await client(t, path)).service(Echo);
    const pending = good.sleep({ sleepMs: 100 }); // in flight on the good connection throughout
    const bad = await RawPeer.connect(t, path);
    misbehave(bad);
    await within(bad.closed, 5000, "the bad connection to close");
    assert.equal((await pending).text, "slept");
    assert.equal((await good.echo({ text: "still here" })).text, "still here");
    assert.equal(server.stats().brokenConnections, 1);
    assert.equal(server.stats().connections, 1);
    assert.ok(
      logger.warnings.some((w) => reason.test(String((w.obj as { reason?: unknown }).reason))),
      JSON.stringify(logger.warnings),
    );
    return bad;
  }

  it("a truncated header", async (t) => {
    await expectCloseAlone(
      t,
      (peer) => {
        peer.socket.end(Buffer.from("0000000500", "hex"));
      },
      /truncated frame/,
    );
  });

  it("a length over 4 MiB (answered RESOURCE_EXHAUSTED on that stream first)", async (t) => {
    const bad = await expectCloseAlone(
      t,
      (peer) => {
        peer.write(Buffer.from("00400001000000090100", "hex"));
      },
      /exceed maximum message size/,
    );
    assert.equal(bad.frames.length, 1);
    assert.equal(bad.frames[0]?.header.streamId, 9);
    assert.deepEqual(
      [bad.response(0).status?.code, bad.response(0).status?.message],
      [StatusCode.ResourceExhausted, "message length 4194305 exceed maximum message size of 4194304"],
    );
  });

  it("an unknown message type", async (t) => {
    await expectCloseAlone(
      t,
      (peer) => {
        peer.write(encodeFrame(1, MessageType.Data, Buffer.from("data")));
      },
      /unknown message type 3/,
    );
  });

  it("a response frame sent to the server", async (t) => {
    await expectCloseAlone(
      t,
      (peer) => {
        peer.write(encodeFrame(1, MessageType.Response, new Uint8Array(0)));
      },
      /unknown message type 2/,
    );
  });

  it("random garbage", async (t) => {
    const logger = recordingLogger();
    const { path, server } = await startEchoServer(t, { logger });
    const good = (await client(t, path)).service(Echo);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (garbage) => {
        const bad = await RawPeer.connect(t, path);
        bad.socket.end(garbage);
        await within(bad.closed, 5000, "the garbage connection to close");
        assert.equal((await good.echo({ text: "ok" })).text, "ok");
      }),
      { numRuns: 25 },
    );
    await until(() => server.stats().connections === 1, 5000, "garbage connections to go");
  });
});

describe("ttrpc server: lifecycle", () => {
  it("graceful close stops accepting, refuses new calls, finishes in-flight ones, then closes", async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, "s.sock");
    const server = createTtrpcServer();
    const { impl } = echoImpl();
    let release = (): void => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = (): void => {};
    const sleepStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    server.register(Echo, {
      ...impl,
      sleep: async (_request: EchoRequest, context: CallContext) => {
        started();
        await released;
        return { text: context.signal.aborted ? "aborted" : "finished" };
      },
    });
    await server.listen(path);
    t.after(() => server.close({ signal: AbortSignal.abort() }));
    const c = await client(t, path);
    const echo = c.service(Echo);
    const inFlight = echo.sleep({});
    await within(sleepStarted, 5000, "handler to start");

    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    await assert.rejects(createTtrpcClient(path), { code: StatusCode.Unavailable });
    await assert.rejects(echo.echo({ text: "late" }), {
      code: StatusCode.Unavailable,
      message: "ttrpc: server closed",
    });
    await nextTurn();
    assert.equal(closed, false);
    assert.equal(server.stats().inFlightCalls, 1);

    release();
    assert.equal((await inFlight).text, "finished");
    await within(closing, 5000, "close to finish");
    await within(c.done, 5000, "the server to close the connection");
    assert.equal(server.stats().connections, 0);
  });

  it("close with an aborted signal cancels in-flight handlers", async (t) => {
    const { path, server, probe } = await startEchoServer(t);
    const echo = (await client(t, path)).service(Echo);
    const call = echo.sleep({ sleepMs: 600_000 });
    await within(probe.sleepStarted(1), 5000, "sleep to start");
    await within(server.close({ signal: AbortSignal.abort() }), 5000, "forced close");
    await assert.rejects(call, { code: StatusCode.Unavailable, message: "ttrpc: closed" });
    assert.equal(probe.sleepSignals[0]?.aborted, true);
  });

  it("refuses connections the authorize hook rejects and counts them", async (t) => {
    let allow = false;
    const seen: net.Socket[] = [];
    const { path, server } = await startEchoServer(t, {
      authorize: async (socket) => {
        seen.push(socket);
        await nextTurn();
        return allow;
      },
    });
    const refused = await RawPeer.connect(t, path);
    refused.sendRequest(1, "Echo", { text: "nope" });
    await within(refused.closed, 5000, "refused connection to close");
    assert.equal(refused.frames.length, 0);
    allow = true;
    const echo = (await client(t, path)).service(Echo);
    assert.equal((await echo.echo({ text: "yes" })).text, "yes");
    assert.equal(seen.length, 2);
    assert.equal(server.stats().refusedConnections, 1);
    assert.equal(server.stats().acceptedConnections, 2);
  });

  it("stops reading from a peer that does not read its responses, and loses nothing", async (t) => {
    const { path, server } = await startEchoServer(t);
    const peer = await RawPeer.connect(t, path);
    peer.socket.pause();
    const count = 200;
    const text = "x".repeat(100_000);
    for (let i = 0; i < count; i++) peer.sendRequest(2 * i + 1, "Echo", { text });
    await until(() => server.stats().backpressuredConnections === 1, 10_000, "server to pause reading");
    assert.ok(server.stats().completedCalls < count, `completed ${server.stats().completedCalls}`);
    peer.socket.resume();
    await peer.waitFrames(count, 30_000);
    assert.deepEqual(
      peer.frames.map((f) => f.header.streamId),
      Array.from({ length: count }, (_, i) => 2 * i + 1),
    );
    assert.ok(
      peer.frames.every((_, i) => fromBinary(EchoResponseSchema, peer.response(i).payload).text === text),
    );
    await until(() => server.stats().backpressuredConnections === 0, 5000, "backpressure to clear");
  });

  it("refuses to register a service twice", () => {
    const server = createTtrpcServer();
    server.register(Echo, echoImpl().impl);
    assert.throws(() => {
      server.register(Echo, echoImpl().impl);
    }, /already registered/);
  });

  it("serves an already-connected socket handed to serveSocket", async (t) => {
    const server = createTtrpcServer();
    server.register(Echo, echoImpl().impl);
    t.after(() => server.close());
    const [a, b] = await socketPair(t);
    server.serveSocket(a);
    const echo = (await createTtrpcClient(b)).service(Echo);
    assert.equal((await echo.echo({ text: "pair" })).text, "pair");
  });

  it("listens on an inherited listening fd 3, as the shim daemon does", async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, "inherited.sock");
    const childScript = new URL("./fd-listener-child.js", import.meta.url).pathname;
    // python binds and listens, puts the socket on fd 3, then becomes node (exec keeps the fd).
    const child = spawn(
      "python3",
      [
        "-c",
        "import os, socket, sys\n" +
          "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n" +
          "s.bind(sys.argv[1]); s.listen(16)\n" +
          "if s.fileno() != 3: os.dup2(s.fileno(), 3)\n" +
          "os.set_inheritable(3, True)\n" +
          "os.execvp(sys.argv[2], sys.argv[2:])\n",
        path,
        process.execPath,
        childScript,
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    });
    let out = "";
    child.stdout.setEncoding("utf8");
    await within(
      new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (s: string) => {
          out += s;
          if (out.includes("ready\n")) resolve();
        });
        child.once("exit", (code) => {
          reject(new Error(`child exited with ${code}`));
        });
      }),
      20_000,
      "child to listen on fd 3",
    );
    const c = await createTtrpcClient(path);
    t.after(() => c.close());
    assert.equal((await c.service(Echo).echo({ text: "via fd 3" })).text, "via fd 3");
    child.stdin.end();
    const [code] = (await within(once(child, "exit"), 10_000, "child to exit")) as [number | null];
    assert.equal(code, 0);
  });
});

async function socketPair(t: TestContext): Promise<[net.Socket, net.Socket]> {
  const dir = await tempDir(t);
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(join(dir, "pair.sock"), resolve));
  const accepted = once(listener, "connection") as Promise<[net.Socket]>;
  const b = net.createConnection({ path: join(dir, "pair.sock") });
  const [a] = await accepted;
  // Stop listening now; close()'s callback would wait for the accepted socket to end.
  listener.close();
  t.after(() => {
    a.destroy();
    b.destroy();
  });
  return [a, b];
}
