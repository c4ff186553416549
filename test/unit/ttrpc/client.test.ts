import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { TaskService } from "../../../src/api/index.js";
import { Echo, EchoRequestSchema, EchoResponseSchema } from "../../../src/gen/husk/test/v1/echo_pb.js";
import { type Request, RequestSchema, ResponseSchema } from "../../../src/gen/ttrpc/ttrpc_pb.js";
import {
  createTtrpcClient,
  encodeFrame,
  FrameDecoder,
  isTtrpcError,
  MAX_MESSAGE_BYTES,
  MessageType,
  StatusCode,
  TtrpcError,
} from "../../../src/ttrpc/index.js";
import { startEchoServer, tempDir, within } from "./helpers.js";

const ascii = (text: string): string => Buffer.from(text).toString("hex");

interface Received {
  readonly streamId: number;
  readonly request: Request;
}

/**
 * A hand-written ttrpc server for client tests: records decoded requests and lets the test answer
 * each one (or write arbitrary bytes) itself.
 */
class FakeServer {
  readonly path: string;
  readonly received: Received[] = [];
  /** Every byte received, as it arrived. */
  readonly bytes: Buffer[] = [];
  socket: net.Socket | undefined;
  readonly #listener: net.Server;
  #waiters: { count: number; resolve: () => void }[] = [];
  #connected: (socket: net.Socket) => void = () => {};
  readonly connected: Promise<net.Socket>;

  private constructor(path: string, options: { paused?: boolean }) {
    this.path = path;
    this.connected = new Promise((resolve) => {
      this.#connected = resolve;
    });
    this.#listener = net.createServer({ pauseOnConnect: options.paused === true }, (socket) => {
      this.socket = socket;
      socket.on("error", () => {});
      const decoder = new FrameDecoder();
      socket.on("data", (chunk: Buffer) => {
        this.bytes.push(Buffer.from(chunk));
        decoder.push(chunk);
        for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
          this.received.push({
            streamId: frame.header.streamId,
            request: fromBinary(RequestSchema, frame.payload),
          });
        }
        this.#waiters = this.#waiters.filter((w) => {
          if (this.received.length < w.count) return true;
          w.resolve();
          return false;
        });
      });
      this.#connected(socket);
    });
  }

  static async start(t: TestContext, options: { paused?: boolean } = {}): Promise<FakeServer> {
    const dir = await tempDir(t);
    const server = new FakeServer(join(dir, "fake.sock"), options);
    await new Promise<void>((resolve) => server.#listener.listen(server.path, resolve));
    t.after(() => {
      server.socket?.destroy();
      server.#listener.close();
    });
    return server;
  }

  async waitRequests(count: number, ms = 5000): Promise<Received[]> {
    if (this.received.length < count) {
      await within(
        new Promise<void>((resolve) => this.#waiters.push({ count, resolve })),
        ms,
        `${count} requests`,
      );
    }
    return this.received;
  }

  reply(streamId: number, text: string): void {
    const payload = toBinary(EchoResponseSchema, create(EchoResponseSchema, { text }));
    this.write(
      encodeFrame(
        streamId,
        MessageType.Response,
        toBinary(ResponseSchema, create(ResponseSchema, { payload })),
      ),
    );
  }

  write(bytes: Uint8Array): void {
    assert.ok(this.socket, "no connection");
    this.socket.write(bytes);
  }
}

async function clientFor(t: TestContext, path: string) {
  const client = await createTtrpcClient(path);
  t.after(() => client.close());
  return client;
}

describe("ttrpc client", () => {
  it("numbers calls 1, 3, 5, … and matches responses that arrive in any order", async (t) => {
    const fake = await FakeServer.start(t);
    const echo = (await clientFor(t, fake.path)).service(Echo);
    const calls = Array.from({ length: 5 }, (_, i) => echo.echo({ text: `q${i}` }));
    const received = await fake.waitRequests(5);
    assert.deepEqual(
      received.map((r) => r.streamId),
      [1, 3, 5, 7, 9],
    );
    assert.deepEqual(
      received.map((r) => [r.request.service, r.request.method]),
      Array.from({ length: 5 }, () => ["husk.test.v1.Echo", "Echo"]),
    );
    for (const r of [...received].reverse()) {
      fake.reply(r.streamId, `answer to ${fromBinary(EchoRequestSchema, r.request.payload).text}`);
    }
    assert.deepEqual(
      (await Promise.all(calls)).map((r) => r.text),
      ["answer to q0", "answer to q1", "answer to q2", "answer to q3", "answer to q4"],
    );
  });

  it("writes the exact request frame for a Connect with deadline and namespace metadata", async (t) => {
    const fake = await FakeServer.start(t);
    const task = (await clientFor(t, fake.path)).service(TaskService);
    void task
      .connect({ id: "c4" }, { timeoutMs: 5000, metadata: { "containerd-namespace-ttrpc": "speca" } })
      .catch(() => {});
    await fake.waitRequests(1);
    // Encoded independently of protobuf-es: header (len 0x53, stream 1, type 1), then Request fields 1–5.
    assert.equal(
      Buffer.concat(fake.bytes).toString("hex"),
      "00000053000000010100" +
        `0a17${ascii("containerd.task.v2.Task")}1207${ascii("Connect")}1a040a02${ascii("c4")}` +
        `2080e497d012` +
        `2a230a1a${ascii("containerd-namespace-ttrpc")}1205${ascii("speca")}`,
    );
  });

  it("sends metadata with lower-cased keys, every value, and timeout_nano only with a deadline", async (t) => {
    const fake = await FakeServer.start(t);
    const client = await clientFor(t, fake.path);
    void client
      .call("s.S", "M", EchoRequestSchema, {}, EchoResponseSchema, {
        metadata: new Map([["X-Multi", ["a", "b"]]]),
        timeoutMs: 1500,
      })
      .catch(() => {});
    void client
      .call("s.S", "N", EchoRequestSchema, {}, EchoResponseSchema, { metadata: { K: "v" } })
      .catch(() => {});
    const [first, second] = await fake.waitRequests(2);
    assert.deepEqual(
      first?.request.metadata.map((kv) => [kv.key, kv.value]),
      [
        ["x-multi", "a"],
        ["x-multi", "b"],
      ],
    );
    assert.equal(first.request.timeoutNano, 1_500_000_000n);
    assert.deepEqual(
      second?.request.metadata.map((kv) => [kv.key, kv.value]),
      [["k", "v"]],
    );
    assert.equal(second.request.timeoutNano, 0n);
  });

  it("turns a status into a TtrpcError with the wire code and message", async (t) => {
    const { path } = await startEchoServer(t);
    const echo = (await clientFor(t, path)).service(Echo);
    const error = await echo
      .fail({ failCode: StatusCode.FailedPrecondition, failMessage: "container must be created" })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof TtrpcError);
    assert.ok(isTtrpcError(error));
    assert.equal(error.code, StatusCode.FailedPrecondition);
    assert.equal(error.message, "container must be created");
  });

  it("treats a status with code 0 as success, as Go's ttrpc does", async (t) => {
    const fake = await FakeServer.start(t);
    const echo = (await clientFor(t, fake.path)).service(Echo);
    const call = echo.echo({});
    const [request] = await fake.waitRequests(1);
    const payload = toBinary(EchoResponseSchema, create(EchoResponseSchema, { text: "fine" }));
    const response = create(ResponseSchema, { status: { code: 0, message: "" }, payload });
    fake.write(encodeFrame(request?.streamId ?? 0, MessageType.Response, toBinary(ResponseSchema, response)));
    assert.equal((await call).text, "fine");
  });

  it("fails a call whose response payload does not decode, and keeps the connection", async (t) => {
    const fake = await FakeServer.start(t);
    const echo = (await clientFor(t, fake.path)).service(Echo);
    const bad = echo.echo({});
    const [request] = await fake.waitRequests(1);
    const response = create(ResponseSchema, { payload: Uint8Array.of(0x0a, 0x09) });
    fake.write(encodeFrame(request?.streamId ?? 0, MessageType.Response, toBinary(ResponseSchema, response)));
    await assert.rejects(bad, (e: unknown) => isTtrpcError(e) && e.code === StatusCode.Internal);
    const good = echo.echo({});
    const received = await fake.waitRequests(2);
    fake.reply(received[1]?.streamId ?? 0, "ok");
    assert.equal((await good).text, "ok");
  });

  it('fails every pending and later call with Unavailable "ttrpc: closed" when the connection drops', async (t) => {
    const fake = await FakeServer.start(t);
    const client = await clientFor(t, fake.path);
    const echo = client.service(Echo);
    const pending = [echo.echo({}), echo.echo({}), echo.echo({})];
    await fake.waitRequests(3);
    assert.equal(client.pendingCalls, 3);
    fake.socket?.destroy();
    for (const call of pending) {
      await assert.rejects(call, { code: StatusCode.Unavailable, message: "ttrpc: closed" });
    }
    await within(client.done, 5000, "client to notice the close");
    assert.equal(client.isClosed, true);
    assert.equal(client.pendingCalls, 0);
    await assert.rejects(echo.echo({}), { code: StatusCode.Unavailable, message: "ttrpc: closed" });
  });

  it("close() fails pending calls and is idempotent", async (t) => {
    const fake = await FakeServer.start(t);
    const client = await createTtrpcClient(fake.path);
    const call = client.service(Echo).echo({});
    const outcome = call.then(
      () => undefined,
      (e: unknown) => e,
    );
    await fake.waitRequests(1);
    await within(client.close(), 5000, "close");
    assert.deepEqual(
      [
        (await outcome) instanceof TtrpcError,
        ((await outcome) as TtrpcError).code,
        ((await outcome) as TtrpcError).message,
      ],
      [true, StatusCode.Unavailable, "ttrpc: closed"],
    );
    await within(client.close(), 5000, "second close");
  });

  it("fails locally with DeadlineExceeded when timeoutMs passes, and ignores the late answer", async (t) => {
    const fake = await FakeServer.start(t);
    const echo = (await clientFor(t, fake.path)).service(Echo);
    const late = echo.echo({ text: "slow" }, { timeoutMs: 30 });
    const [request] = await fake.waitRequests(1);
    await assert.rejects(late, { code: StatusCode.DeadlineExceeded, message: "context deadline exceeded" });
    fake.reply(request?.streamId ?? 0, "too late");
    const next = echo.echo({ text: "next" });
    const received = await fake.waitRequests(2);
    fake.reply(received[1]?.streamId ?? 0, "next answer");
    assert.equal((await next).text, "next answer");
  });

  it("cancels a call when its signal aborts (and refuses an already-aborted one)", async (t) => {
    const fake = await FakeServer.start(t);
    const echo = (await clientFor(t, fake.path)).service(Echo);
    const controller = new AbortController();
    const call = echo.echo({}, { signal: controller.signal });
    await fake.waitRequests(1);
    controller.abort();
    await assert.rejects(call, { code: StatusCode.Canceled, message: "context canceled" });
    await assert.rejects(echo.echo({}, { signal: AbortSignal.abort() }), { code: StatusCode.Canceled });
    assert.equal(fake.received.length, 1);
  });

  it("refuses a request over 4 MiB without sending it", async (t) => {
    const { path, server } = await startEchoServer(t);
    const echo = (await clientFor(t, path)).service(Echo);
    await assert.rejects(echo.echo({ text: "x".repeat(MAX_MESSAGE_BYTES) }), {
      code: StatusCode.ResourceExhausted,
    });
    assert.equal((await echo.echo({ text: "small" })).text, "small");
    assert.equal(server.stats().completedCalls, 1);
  });

  it("on an oversize response header fails that call with ResourceExhausted and closes", async (t) => {
    const fake = await FakeServer.start(t);
    const client = await clientFor(t, fake.path);
    const echo = client.service(Echo);
    const first = echo.echo({});
    const second = echo.echo({});
    await fake.waitRequests(2);
    fake.write(Buffer.from("00400001000000010200", "hex"));
    await assert.rejects(first, { code: StatusCode.ResourceExhausted });
    await assert.rejects(second, { code: StatusCode.Unavailable, message: "ttrpc: closed" });
    await within(client.done, 5000, "close");
  });

  it("closes on a frame type other than Response", async (t) => {
    const fake = await FakeServer.start(t);
    const client = await clientFor(t, fake.path);
    const call = client.service(Echo).echo({});
    await fake.waitRequests(1);
    fake.write(encodeFrame(1, MessageType.Request, new Uint8Array(0)));
    await assert.rejects(call, { code: StatusCode.Unavailable, message: "ttrpc: closed" });
    assert.equal(client.isClosed, true);
  });

  it("queues writes while the socket is full and delivers every request", async (t) => {
    const fake = await FakeServer.start(t, { paused: true });
    const echo = (await clientFor(t, fake.path)).service(Echo);
    const text = "y".repeat(200_000);
    const calls = Array.from({ length: 60 }, (_, i) => echo.echo({ text: `${i}:${text}` }));
    const socket = await fake.connected;
    socket.resume();
    const received = await fake.waitRequests(60, 20_000);
    for (const r of received)
      fake.reply(r.streamId, fromBinary(EchoRequestSchema, r.request.payload).text.split(":")[0] ?? "");
    assert.deepEqual(
      (await Promise.all(calls)).map((r) => r.text),
      Array.from({ length: 60 }, (_, i) => String(i)),
    );
  });

  it("rejects with Unavailable when nothing listens, and accepts a unix:// address", async (t) => {
    const dir = await tempDir(t);
    await assert.rejects(createTtrpcClient(join(dir, "missing.sock")), (e: unknown) => {
      return isTtrpcError(e) && e.code === StatusCode.Unavailable && e.message.startsWith("ttrpc: dial ");
    });
    const { path } = await startEchoServer(t);
    const client = await clientFor(t, `unix://${path}`);
    assert.equal((await client.service(Echo).echo({ text: "prefixed" })).text, "prefixed");
  });

  it("offers the generic call() with explicit schemas", async (t) => {
    const { path } = await startEchoServer(t);
    const client = await clientFor(t, path);
    const reply = await client.call(
      "husk.test.v1.Echo",
      "Echo",
      EchoRequestSchema,
      { text: "raw" },
      EchoResponseSchema,
    );
    assert.equal(reply.text, "raw");
    await assert.rejects(
      client.call("husk.test.v1.Echo", "Nope", EchoRequestSchema, {}, EchoResponseSchema),
      {
        code: StatusCode.Unimplemented,
        message: "method Nope",
      },
    );
  });
});
