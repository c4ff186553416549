/**
 * The ttrpc client: one unix-socket connection, many concurrent unary calls on stream ids
 * 1, 3, 5, …, responses matched by stream id in any order. Reconnecting is the caller's job: once
 * the connection is gone every pending and later call fails with Unavailable "ttrpc: closed".
 *
 * containerd counterpart: `github.com/containerd/ttrpc` `client.go` (`NewClient`, `Client.Call`,
 * `callMap`, `filterCloseErr`).
 */
import net from "node:net";
import {
  create,
  type DescMessage,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { RequestSchema, type Response, ResponseSchema } from "../gen/ttrpc/ttrpc_pb.js";
import { encodeFrame, FrameDecoder, FrameTooLargeError, MAX_MESSAGE_BYTES, MessageType } from "./frame.js";
import { CANCELED_MESSAGE, CLOSED_MESSAGE, DEADLINE_MESSAGE, StatusCode, TtrpcError } from "./status.js";
import {
  type CallOptions,
  metadataToWire,
  type ServiceClient,
  silentTtrpcLogger,
  type TtrpcLogger,
} from "./types.js";

/** Options of {@link createTtrpcClient}. */
export interface TtrpcClientOptions {
  /** Where unexpected responses and connection problems are logged. Default: silent. */
  readonly logger?: TtrpcLogger;
  /** Give up connecting after this many milliseconds (Unavailable). Default: no limit of ours. */
  readonly connectTimeoutMs?: number;
}

/** A ttrpc client connection. Create with {@link createTtrpcClient}. */
export interface TtrpcClient {
  /**
   * One unary call: encodes `request` with `requestSchema`, sends it to `service`/`method`
   * (e.g. `containerd.task.v2.Task`, `Create`) and decodes the answer with `responseSchema`.
   * Rejects with a {@link TtrpcError}: the server's status, DeadlineExceeded/Canceled from
   * `options`, ResourceExhausted for a request over 4 MiB, Unavailable "ttrpc: closed" when the
   * connection is or goes away.
   */
  call<I extends DescMessage, O extends DescMessage>(
    service: string,
    method: string,
    requestSchema: I,
    request: MessageInitShape<I>,
    responseSchema: O,
    options?: CallOptions,
  ): Promise<MessageShape<O>>;
  /** A typed facade over {@link TtrpcClient.call} for a protobuf-es service descriptor (e.g. `Task`). */
  service<S extends DescService>(service: S): ServiceClient<S>;
  /** Closes the connection; pending calls fail with Unavailable "ttrpc: closed". Idempotent. */
  close(): Promise<void>;
  /** True once the connection is gone, whoever closed it. */
  readonly isClosed: boolean;
  /** Resolves when the connection is gone, whoever closed it. */
  readonly done: Promise<void>;
  /** Calls sent and not yet answered. */
  readonly pendingCalls: number;
}

/**
 * Connects to a ttrpc server at a unix socket path (an optional `unix://` prefix is stripped; a
 * leading NUL byte names an abstract socket) or wraps an already-connected socket, which the client
 * then owns. Rejects with Unavailable when the connection cannot be made.
 *
 * containerd counterpart: `ttrpc.NewClient` over `net.Dial("unix", …)`.
 */
export async function createTtrpcClient(
  target: string | net.Socket,
  options: TtrpcClientOptions = {},
): Promise<TtrpcClient> {
  const socket = typeof target === "string" ? await connect(target, options.connectTimeoutMs) : target;
  return new Client(socket, options.logger ?? silentTtrpcLogger);
}

async function connect(address: string, timeoutMs: number | undefined): Promise<net.Socket> {
  const path = address.startsWith("unix://") ? address.slice("unix://".length) : address;
  const socket = net.createConnection({ path });
  return new Promise<net.Socket>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new TtrpcError(StatusCode.Unavailable, `ttrpc: dial ${path}: ${error.message}`, { cause: error }),
      );
    };
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        fail(new Error(`timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    }
    socket.once("error", fail);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", fail);
      resolve(socket);
    });
  });
}

interface PendingCall {
  readonly schema: DescMessage;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: TtrpcError) => void;
  /** Clears the call's timer and signal listener. */
  readonly cleanup: () => void;
}

/** Largest stream id; a connection that used them all refuses further calls. */
const MAX_STREAM_ID = 0xffff_ffff;

class Client implements TtrpcClient {
  readonly done: Promise<void>;
  readonly #socket: net.Socket;
  readonly #logger: TtrpcLogger;
  readonly #decoder = new FrameDecoder();
  readonly #pending = new Map<number, PendingCall>();
  /** Frames waiting for the socket to drain. */
  #queued: Buffer[] = [];
  #blocked = false;
  #nextStreamId = 1;
  #closed = false;

  constructor(socket: net.Socket, logger: TtrpcLogger) {
    this.#socket = socket;
    this.#logger = logger;
    this.done = new Promise<void>((resolve) => {
      const onClose = (): void => {
        this.#onClose();
        resolve();
      };
      if (socket.closed) queueMicrotask(onClose);
      else socket.once("close", onClose);
    });
    socket.on("error", (error: Error) => {
      this.#logger.debug({ err: error }, "ttrpc client: connection error");
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        this.#onData(chunk);
      } catch (error) {
        this.#fail(`internal error: ${errorText(error)}`);
      }
    });
    socket.on("end", () => {
      if (this.#decoder.midFrame)
        this.#logger.warn({ reason: "truncated frame" }, "ttrpc client: connection lost");
      socket.destroy();
    });
    socket.on("drain", () => {
      this.#flush();
    });
    if (socket.destroyed) this.#onClose();
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  get pendingCalls(): number {
    return this.#pending.size;
  }

  call<I extends DescMessage, O extends DescMessage>(
    service: string,
    method: string,
    requestSchema: I,
    request: MessageInitShape<I>,
    responseSchema: O,
    options: CallOptions = {},
  ): Promise<MessageShape<O>> {
    return new Promise<MessageShape<O>>((resolve, reject) => {
      if (this.#closed) {
        reject(closedError());
        return;
      }
      const { signal, timeoutMs } = options;
      if (signal?.aborted === true) {
        reject(new TtrpcError(StatusCode.Canceled, CANCELED_MESSAGE, { cause: signal.reason }));
        return;
      }
      if (this.#nextStreamId > MAX_STREAM_ID) {
        reject(new TtrpcError(StatusCode.Unavailable, "ttrpc: stream ids exhausted on this connection"));
        return;
      }
      let payload: Uint8Array;
      let frame: Buffer;
      const streamId = this.#nextStreamId;
      try {
        payload = toBinary(requestSchema, create(requestSchema, request));
        const envelope = toBinary(
          RequestSchema,
          create(RequestSchema, {
            service,
            method,
            payload,
            timeoutNano: timeoutMs === undefined ? 0n : BigInt(Math.max(1, Math.round(timeoutMs * 1e6))),
            metadata: metadataToWire(options.metadata),
          }),
        );
        if (envelope.length > MAX_MESSAGE_BYTES) {
          reject(
            new TtrpcError(
              StatusCode.ResourceExhausted,
              `message length ${envelope.length} exceed maximum message size of ${MAX_MESSAGE_BYTES}`,
            ),
          );
          return;
        }
        frame = encodeFrame(streamId, MessageType.Request, envelope);
      } catch (error) {
        reject(new TtrpcError(StatusCode.Internal, `ttrpc: error marshalling request: ${errorText(error)}`));
        return;
      }
      this.#nextStreamId += 2;

      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        this.#settle(streamId)?.reject(
          new TtrpcError(StatusCode.Canceled, CANCELED_MESSAGE, { cause: signal?.reason }),
        );
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      this.#pending.set(streamId, {
        schema: responseSchema,
        resolve: resolve as (value: unknown) => void,
        reject,
        cleanup,
      });
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () => {
            this.#settle(streamId)?.reject(new TtrpcError(StatusCode.DeadlineExceeded, DEADLINE_MESSAGE));
          },
          Math.max(0, Math.min(timeoutMs, 2_147_483_647)),
        );
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#write(frame);
    });
  }

  service<S extends DescService>(service: S): ServiceClient<S> {
    const facade: Record<string, (request: never, options?: CallOptions) => Promise<unknown>> = {};
    for (const method of service.methods) {
      if (method.methodKind !== "unary") continue;
      facade[method.localName] = (request, options) =>
        this.call(service.typeName, method.name, method.input, request, method.output, options);
    }
    return facade as unknown as ServiceClient<S>;
  }

  close(): Promise<void> {
    // Every pending call is rejected first, so nothing still unwritten matters: destroy, don't wait on end().
    this.#onClose();
    this.#socket.destroy();
    return this.done;
  }

  /** Removes a pending call and returns it (undefined if already settled). */
  #settle(streamId: number): PendingCall | undefined {
    const pending = this.#pending.get(streamId);
    if (pending === undefined) return undefined;
    this.#pending.delete(streamId);
    pending.cleanup();
    return pending;
  }

  #write(frame: Buffer): void {
    if (this.#blocked) {
      this.#queued.push(frame);
      return;
    }
    if (!this.#socket.write(frame)) this.#blocked = true;
  }

  #flush(): void {
    this.#blocked = false;
    const queued = this.#queued;
    this.#queued = [];
    for (let i = 0; i < queued.length; i++) {
      if (!this.#socket.write(queued[i] as Buffer)) {
        this.#blocked = true;
        this.#queued = queued.slice(i + 1).concat(this.#queued);
        return;
      }
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#decoder.push(chunk);
    for (;;) {
      let frame: ReturnType<FrameDecoder["next"]>;
      try {
        frame = this.#decoder.next();
      } catch (error) {
        if (error instanceof FrameTooLargeError) {
          this.#settle(error.header.streamId)?.reject(
            new TtrpcError(StatusCode.ResourceExhausted, error.message),
          );
          this.#fail(error.message);
          return;
        }
        throw error;
      }
      if (frame === undefined) return;
      if (frame.header.type !== MessageType.Response) {
        this.#fail(`unknown message type ${frame.header.type}`);
        return;
      }
      this.#onResponse(frame.header.streamId, frame.payload);
    }
  }

  #onResponse(streamId: number, bytes: Uint8Array): void {
    const pending = this.#settle(streamId);
    if (pending === undefined) {
      // Late answer to a call that timed out or was cancelled locally, or a confused server.
      this.#logger.debug({ stream: streamId }, "ttrpc client: response for no pending call");
      return;
    }
    let response: Response;
    try {
      response = fromBinary(ResponseSchema, bytes);
    } catch (error) {
      pending.reject(
        new TtrpcError(StatusCode.Internal, `ttrpc: error unmarshalling response: ${errorText(error)}`),
      );
      return;
    }
    const status = response.status;
    if (status !== undefined && status.code !== StatusCode.OK) {
      pending.reject(new TtrpcError(status.code, status.message));
      return;
    }
    try {
      pending.resolve(fromBinary(pending.schema, response.payload));
    } catch (error) {
      pending.reject(
        new TtrpcError(StatusCode.Internal, `ttrpc: error unmarshalling payload: ${errorText(error)}`),
      );
    }
  }

  #fail(reason: string): void {
    this.#logger.warn({ reason }, "ttrpc client: closing connection after protocol error");
    this.#onClose();
    this.#socket.destroy();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queued = [];
    const pending = [...this.#pending.keys()];
    for (const streamId of pending) this.#settle(streamId)?.reject(closedError());
  }
}

function closedError(): TtrpcError {
  return new TtrpcError(StatusCode.Unavailable, CLOSED_MESSAGE);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
