/**
 * Test support for the ttrpc tests: temp dirs, an Echo service implementation, raw socket peers
 * that speak frames by hand, and timeouts for awaiting events.
 */
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { Echo, type EchoRequest, EchoRequestSchema } from "../../../src/gen/husk/test/v1/echo_pb.js";
import { RequestSchema, type Response, ResponseSchema } from "../../../src/gen/ttrpc/ttrpc_pb.js";
import {
  type CallContext,
  createTtrpcServer,
  encodeFrame,
  type Frame,
  FrameDecoder,
  MessageType,
  type ServiceImpl,
  type TtrpcLogger,
  type TtrpcServer,
  type TtrpcServerOptions,
} from "../../../src/ttrpc/index.js";
import { within } from "../../support/within.js";

export { within };

/** A fresh temp dir removed after the test. */
export async function tempDir(t: TestContext, prefix = "husk-ttrpc-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A logger that records warn/error entries for assertions. */
export function recordingLogger(): TtrpcLogger & { warnings: { obj: object; msg: string | undefined }[] } {
  const warnings: { obj: object; msg: string | undefined }[] = [];
  return {
    warnings,
    debug() {},
    info() {},
    warn(obj, msg) {
      warnings.push({ obj, msg });
    },
    error(obj, msg) {
      warnings.push({ obj, msg });
    },
  };
}

/** Observations of the Echo implementation, for assertions. */
export interface EchoProbe {
  /** Signals of Sleep calls, in arrival order. */
  readonly sleepSignals: AbortSignal[];
  /** Resolves each time a Sleep call starts (the array grows). */
  sleepStarted(count: number): Promise<void>;
  /** How the most recent Sleep ended. */
  lastSleep: Promise<string> | undefined;
}

/**
 * The Echo test service: Echo returns text and sorted "key=value" metadata; Fail throws a status
 * error built from the request; Sleep waits sleep_ms or until its signal aborts (then rethrows the
 * reason); LastSleep reports how the latest Sleep ended.
 */
export function echoImpl(): { impl: ServiceImpl<typeof Echo>; probe: EchoProbe } {
  const sleepSignals: AbortSignal[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const probe: EchoProbe = {
    sleepSignals,
    lastSleep: undefined,
    sleepStarted(count) {
      if (sleepSignals.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
  const impl: ServiceImpl<typeof Echo> = {
    echo(request: EchoRequest, context: CallContext) {
      const metadata = [...context.metadata]
        .flatMap(([key, values]) => values.map((v) => `${key}=${v}`))
        .sort();
      const timeoutNano =
        context.deadline === undefined
          ? 0n
          : BigInt(Math.max(1, Math.round((context.deadline - Date.now()) * 1e6)));
      return Promise.resolve({ text: request.text, metadata, timeoutNano });
    },
    fail(request: EchoRequest) {
      return Promise.reject(Object.assign(new Error(request.failMessage), { code: request.failCode }));
    },
    async sleep(request: EchoRequest, context: CallContext) {
      sleepSignals.push(context.signal);
      for (const waiter of waiters.filter((w) => sleepSignals.length >= w.count)) waiter.resolve();
      const outcome = new Promise<string>((resolve, reject) => {
        if (context.signal.aborted) {
          reject(context.signal.reason as Error);
          return;
        }
        const timer = setTimeout(() => {
          resolve("completed");
        }, request.sleepMs);
        context.signal.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            reject(context.signal.reason as Error);
          },
          { once: true },
        );
      });
      probe.lastSleep = outcome.then(
        (text) => text,
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
      await outcome;
      return { text: "slept" };
    },
    async lastSleep() {
      return { text: probe.lastSleep === undefined ? "no sleep yet" : await probe.lastSleep };
    },
  };
  return { impl, probe };
}

/** A listening server with the Echo service on a socket in a temp dir; closed after the test. */
export async function startEchoServer(
  t: TestContext,
  options: TtrpcServerOptions = {},
): Promise<{ server: TtrpcServer; path: string; probe: EchoProbe }> {
  const dir = await tempDir(t);
  const path = join(dir, "ttrpc.sock");
  const server = createTtrpcServer(options);
  const { impl, probe } = echoImpl();
  server.register(Echo, impl);
  await server.listen(path);
  t.after(() => server.close({ signal: AbortSignal.abort() }));
  return { server, path, probe };
}

/** A raw peer: writes bytes, collects decoded frames, notices close. */
export class RawPeer {
  readonly socket: net.Socket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  readonly #decoder = new FrameDecoder();
  #waiters: { count: number; resolve: () => void }[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        resolve();
      }),
    );
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      this.#decoder.push(chunk);
      for (let frame = this.#decoder.next(); frame !== undefined; frame = this.#decoder.next()) {
        // Copy: the decoder may hand out views of socket chunks.
        this.frames.push({ header: frame.header, payload: Uint8Array.from(frame.payload) });
      }
      this.#waiters = this.#waiters.filter((w) => {
        if (this.frames.length < w.count) return true;
        w.resolve();
        return false;
      });
    });
  }

  static async connect(t: TestContext, path: string): Promise<RawPeer> {
    const socket = net.createConnection({ path });
    await within(
      new Promise<void>((resolve) =>
        socket.once("connect", () => {
          resolve();
        }),
      ),
      5000,
      "connect",
    );
    t.after(() => socket.destroy());
    return new RawPeer(socket);
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sends a Request frame for the Echo service. */
  sendRequest(
    streamId: number,
    method: string,
    request: MessageInitShape<typeof EchoRequestSchema> = {},
    extra: { timeoutNano?: bigint } = {},
  ): void {
    const payload = toBinary(EchoRequestSchema, create(EchoRequestSchema, request));
    const envelope = toBinary(
      RequestSchema,
      create(RequestSchema, {
        service: Echo.typeName,
        method,
        payload,
        timeoutNano: extra.timeoutNano ?? 0n,
      }),
    );
    this.write(encodeFrame(streamId, MessageType.Request, envelope));
  }

  /** Waits until at least `count` frames have arrived. */
  async waitFrames(count: number, ms = 5000): Promise<Frame[]> {
    if (this.frames.length < count) {
      await within(
        new Promise<void>((resolve) => this.#waiters.push({ count, resolve })),
        ms,
        `${count} frames`,
      );
    }
    return this.frames;
  }

  /** The decoded Response of frame `index`. */
  response(index: number): Response {
    const frame = this.frames[index];
    if (frame === undefined) throw new Error(`no frame ${index}`);
    return fromBinary(ResponseSchema, frame.payload);
  }
}
