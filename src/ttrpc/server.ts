/**
 * The ttrpc server: accepts unix-socket connections, decodes frames incrementally, dispatches each
 * Request to a registered handler concurrently, and writes Responses as handlers finish (not in
 * request order). One bad connection never disturbs the others.
 *
 * containerd counterpart: `github.com/containerd/ttrpc` `server.go` (`Server.Serve`, `serverConn.run`,
 * `Server.Shutdown`) and `services.go` (`serviceSet.dispatch`, `resolve`).
 *
 * Protocol decisions (documented in docs of {@link createTtrpcServer}):
 * - a header announcing more than 4 MiB: answer RESOURCE_EXHAUSTED on that stream (ttrpc's text),
 *   then close the connection instead of discarding the payload as Go's ttrpc does — a length that
 *   large means a broken or hostile peer, and discarding would let it stream up to 4 GiB at us;
 * - a frame type other than Request: close the connection (ttrpc 1.1 ignores it; husk speaks no
 *   streams, and the task API never sends other types);
 * - EOF inside a frame (truncated header or payload): close the connection;
 * - an undecodable Request envelope: INVALID_ARGUMENT "unmarshal request error: …", keep serving (as Go).
 */
import net from "node:net";
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  isMessage,
  type Message,
  toBinary,
} from "@bufbuild/protobuf";
import { type Request, RequestSchema, ResponseSchema } from "../gen/ttrpc/ttrpc_pb.js";
import { encodeFrame, FrameDecoder, FrameTooLargeError, MAX_MESSAGE_BYTES, MessageType } from "./frame.js";
import {
  CANCELED_MESSAGE,
  DEADLINE_MESSAGE,
  StatusCode,
  statusFromError,
  TtrpcError,
  type WireStatus,
} from "./status.js";
import {
  type CallContext,
  metadataFromWire,
  type ServiceImpl,
  silentTtrpcLogger,
  type TtrpcLogger,
} from "./types.js";

/** Options of {@link createTtrpcServer}. */
export interface TtrpcServerOptions {
  /** Where connection problems (warn) and RPC traces (debug) go. Default: silent. */
  readonly logger?: TtrpcLogger;
  /**
   * Decides per connection, before any byte is read, whether to serve it (false or a throw closes it).
   * The shim checks the peer's SO_PEERCRED uid/gid here, as containerd's shim does.
   */
  readonly authorize?: (socket: net.Socket) => boolean | Promise<boolean>;
}

/** Where {@link TtrpcServer.listen} listens: a unix socket path, or an inherited listening fd. */
export type ListenTarget = string | { readonly fd: number };

/** Observability counters of a server. */
export interface TtrpcServerStats {
  /** Connections currently open (including ones awaiting authorize). */
  readonly connections: number;
  /** Calls whose handler is running now. */
  readonly inFlightCalls: number;
  /** Connections accepted since the server was created. */
  readonly acceptedConnections: number;
  /** Connections closed by the authorize hook. */
  readonly refusedConnections: number;
  /** Connections closed because of a protocol violation (bad frame, oversize, unknown type, truncation). */
  readonly brokenConnections: number;
  /** Requests answered (successfully or with a status) since the server was created. */
  readonly completedCalls: number;
  /** Connections whose reading is paused because the peer is not reading its responses (backpressure). */
  readonly backpressuredConnections: number;
}

/** A ttrpc server. Create with {@link createTtrpcServer}. */
export interface TtrpcServer {
  /**
   * Serves `service` (a protobuf-es service descriptor, e.g. the generated `Task`) with `impl`.
   * Only unary methods exist in ttrpc 1.1; a streaming method throws TypeError. Registering a
   * service name twice throws. A method missing from `impl` at run time answers Unimplemented.
   */
  register<S extends DescService>(service: S, impl: ServiceImpl<S>): void;
  /**
   * Starts accepting on a unix socket path (which must not exist) or on an already-bound listening
   * fd such as the shim daemon's inherited fd 3 (`{ fd: 3 }`; the server then owns and closes it).
   * Resolves once listening. Can be called several times.
   */
  listen(target: ListenTarget): Promise<void>;
  /** Serves one already-connected socket (tests, sockets accepted elsewhere). The server owns it afterwards. */
  serveSocket(socket: net.Socket): void;
  /**
   * Graceful close: stops accepting, answers new requests with Unavailable "ttrpc: server closed",
   * lets in-flight calls finish and their responses go out, then closes every connection. When
   * `signal` aborts first, remaining handlers are cancelled and connections destroyed. Idempotent.
   */
  close(options?: { readonly signal?: AbortSignal }): Promise<void>;
  /** Current counters. */
  stats(): TtrpcServerStats;
}

/**
 * Creates a ttrpc server (see the module notes for how malformed input is handled).
 *
 * containerd counterpart: `ttrpc.NewServer` with `ttrpc.WithServerHandshaker(ttrpc.UnixSocketRequireSameUser())`.
 */
export function createTtrpcServer(options: TtrpcServerOptions = {}): TtrpcServer {
  return new Server(options);
}

interface RegisteredMethod {
  readonly desc: DescMethod;
  readonly handler: (request: Message, context: CallContext) => unknown;
}

const SERVER_CLOSED_MESSAGE = "ttrpc: server closed";
/** setTimeout's ceiling; deadlines further away than ~24.8 days are not enforced. */
const MAX_TIMER_MS = 2_147_483_647;

class Server implements TtrpcServer {
  readonly logger: TtrpcLogger;
  readonly #authorize: TtrpcServerOptions["authorize"];
  readonly services = new Map<string, Map<string, RegisteredMethod>>();
  readonly #listeners = new Set<net.Server>();
  readonly #connections = new Set<ServerConnection>();
  #nextConnectionId = 1;
  #closing: Promise<void> | undefined;
  inFlightCalls = 0;
  #accepted = 0;
  #refused = 0;
  brokenConnections = 0;
  completedCalls = 0;
  backpressuredConnections = 0;

  constructor(options: TtrpcServerOptions) {
    this.logger = options.logger ?? silentTtrpcLogger;
    this.#authorize = options.authorize;
  }

  get closing(): boolean {
    return this.#closing !== undefined;
  }

  register<S extends DescService>(service: S, impl: ServiceImpl<S>): void {
    if (this.services.has(service.typeName)) {
      throw new Error(`ttrpc: service ${service.typeName} is already registered`);
    }
    const methods = new Map<string, RegisteredMethod>();
    const handlers = impl as unknown as Record<string, RegisteredMethod["handler"] | undefined>;
    for (const desc of service.methods) {
      if (desc.methodKind !== "unary") {
        throw new TypeError(
          `ttrpc: ${service.typeName}/${desc.name} is ${desc.methodKind}; only unary methods are supported`,
        );
      }
      const handler = handlers[desc.localName];
      if (typeof handler === "function") {
        methods.set(desc.name, { desc, handler: handler.bind(impl) });
      }
    }
    this.services.set(service.typeName, methods);
  }

  async listen(target: ListenTarget): Promise<void> {
    if (this.closing) throw new Error("ttrpc: server is closed");
    const listener = net.createServer({ pauseOnConnect: true });
    listener.on("connection", (socket: net.Socket) => {
      this.serveSocket(socket);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      const onListening = (): void => {
        listener.off("error", reject);
        resolve();
      };
      if (typeof target === "string") listener.listen({ path: target }, onListening);
      else listener.listen({ fd: target.fd }, onListening);
    });
    listener.on("error", (error: Error) => {
      this.logger.error({ err: error }, "ttrpc: listener error");
    });
    this.#listeners.add(listener);
    this.logger.debug({ target }, "ttrpc: listening");
  }

  serveSocket(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.#accepted++;
    const connection = new ServerConnection(this, this.#nextConnectionId++, socket);
    this.#connections.add(connection);
    void connection.done.then(() => {
      this.#connections.delete(connection);
    });
    const authorize = this.#authorize;
    if (authorize === undefined) {
      connection.start();
      return;
    }
    void (async () => {
      let allowed = false;
      try {
        allowed = await authorize(socket);
      } catch (error) {
        this.logger.warn({ err: error, connection: connection.id }, "ttrpc: authorize hook failed");
      }
      if (allowed) {
        connection.start();
      } else {
        this.#refused++;
        this.logger.warn({ connection: connection.id }, "ttrpc: connection refused by authorize hook");
        connection.destroy();
      }
    })();
  }

  close(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    const force = (): void => {
      for (const connection of this.#connections) connection.destroy();
    };
    if (signal !== undefined) {
      if (signal.aborted) force();
      else signal.addEventListener("abort", force, { once: true });
    }
    if (this.#closing !== undefined) return this.#closing;
    const listenersClosed = [...this.#listeners].map(
      (listener) =>
        new Promise<void>((resolve) => {
          listener.close(() => {
            resolve();
          });
        }),
    );
    this.#listeners.clear();
    for (const connection of this.#connections) connection.drain();
    this.#closing = (async () => {
      await Promise.all(listenersClosed);
      // New connections cannot appear any more; wait for the existing ones to finish.
      while (this.#connections.size > 0) {
        await Promise.all([...this.#connections].map((connection) => connection.done));
      }
      signal?.removeEventListener("abort", force);
      this.logger.debug({}, "ttrpc: server closed");
    })();
    return this.#closing;
  }

  stats(): TtrpcServerStats {
    return {
      connections: this.#connections.size,
      inFlightCalls: this.inFlightCalls,
      acceptedConnections: this.#accepted,
      refusedConnections: this.#refused,
      brokenConnections: this.brokenConnections,
      completedCalls: this.completedCalls,
      backpressuredConnections: this.backpressuredConnections,
    };
  }
}

/** One accepted connection: its decoder, its in-flight calls and its write side. */
class ServerConnection {
  readonly id: number;
  readonly done: Promise<void>;
  readonly #server: Server;
  readonly #socket: net.Socket;
  readonly #decoder = new FrameDecoder();
  /** In-flight calls by stream id; aborting a controller cancels that handler. */
  readonly #calls = new Map<number, AbortController>();
  #state: "new" | "open" | "draining" | "closing" | "closed" = "new";
  #writeBlocked = false;

  constructor(server: Server, id: number, socket: net.Socket) {
    this.#server = server;
    this.id = id;
    this.#socket = socket;
    this.done = new Promise<void>((resolve) => {
      const onClose = (): void => {
        this.#onClose();
        resolve();
      };
      // A socket handed to serveSocket may already be closed; then 'close' will not come again.
      if (socket.closed) queueMicrotask(onClose);
      else socket.once("close", onClose);
    });
    socket.on("error", (error: Error) => {
      // ECONNRESET / EPIPE are a peer going away; 'close' follows and cleans up.
      this.#server.logger.debug({ err: error, connection: this.id }, "ttrpc: connection error");
    });
  }

  start(): void {
    if (this.#state !== "new") return;
    this.#state = this.#server.closing ? "draining" : "open";
    this.#server.logger.debug({ connection: this.id }, "ttrpc: connection accepted");
    this.#socket.on("data", (chunk: Buffer) => {
      try {
        this.#onData(chunk);
      } catch (error) {
        // A bug of ours must not take the process (and every other connection) down.
        this.#server.logger.error(
          { err: error, connection: this.id },
          "ttrpc: unexpected error on connection",
        );
        this.#fail(`internal error: ${errorText(error)}`);
      }
    });
    this.#socket.on("end", () => {
      this.#onEnd();
    });
    this.#socket.resume();
    if (this.#state === "draining") this.drain();
  }

  /** Stop taking new calls; close once the in-flight ones have answered. */
  drain(): void {
    if (this.#state === "new") {
      this.destroy();
      return;
    }
    if (this.#state !== "open" && this.#state !== "draining") return;
    this.#state = "draining";
    if (this.#calls.size === 0) this.#closeAfterFlush();
  }

  /** Close now: cancel handlers, drop unwritten responses. */
  destroy(): void {
    if (this.#state === "closed") return;
    this.#state = "closing";
    this.#abortCalls();
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#state !== "open" && this.#state !== "draining") return;
    this.#decoder.push(chunk);
    for (;;) {
      let frame: ReturnType<FrameDecoder["next"]>;
      try {
        frame = this.#decoder.next();
      } catch (error) {
        if (error instanceof FrameTooLargeError) {
          this.#writeStatus(error.header.streamId, {
            code: StatusCode.ResourceExhausted,
            message: error.message,
          });
          this.#fail(error.message);
          return;
        }
        throw error;
      }
      if (frame === undefined) return;
      if (frame.header.type !== MessageType.Request) {
        this.#fail(`unknown message type ${frame.header.type}`);
        return;
      }
      this.#onRequest(frame.header.streamId, frame.payload);
    }
  }

  #onRequest(streamId: number, payload: Uint8Array): void {
    let request: Request;
    try {
      request = fromBinary(RequestSchema, payload);
    } catch (error) {
      this.#writeStatus(streamId, {
        code: StatusCode.InvalidArgument,
        message: `unmarshal request error: ${errorText(error)}`,
      });
      return;
    }
    if (streamId % 2 !== 1) {
      this.#writeStatus(streamId, {
        code: StatusCode.InvalidArgument,
        message: "StreamID must be odd for client initiated streams",
      });
      return;
    }
    if (this.#calls.has(streamId)) {
      this.#writeStatus(streamId, {
        code: StatusCode.InvalidArgument,
        message: "StreamID cannot be re-used",
      });
      return;
    }
    if (this.#state === "draining") {
      this.#writeStatus(streamId, { code: StatusCode.Unavailable, message: SERVER_CLOSED_MESSAGE });
      return;
    }
    const method = this.#server.services.get(request.service);
    if (method === undefined) {
      this.#writeStatus(streamId, { code: StatusCode.Unimplemented, message: `service ${request.service}` });
      return;
    }
    const registered = method.get(request.method);
    if (registered === undefined) {
      this.#writeStatus(streamId, { code: StatusCode.Unimplemented, message: `method ${request.method}` });
      return;
    }
    let input: Message;
    try {
      input = fromBinary(registered.desc.input, request.payload);
    } catch (error) {
      this.#writeStatus(streamId, {
        code: StatusCode.Internal,
        message: `ttrpc: error unmarshalling payload: ${errorText(error)}`,
      });
      return;
    }
    void this.#runCall(streamId, request, registered, input);
  }

  async #runCall(
    streamId: number,
    request: Request,
    registered: RegisteredMethod,
    input: Message,
  ): Promise<void> {
    const controller = new AbortController();
    this.#calls.set(streamId, controller);
    this.#server.inFlightCalls++;
    let timer: NodeJS.Timeout | undefined;
    let deadline: number | undefined;
    if (request.timeoutNano !== 0n) {
      const timeoutMs = Number(request.timeoutNano) / 1e6;
      deadline = Date.now() + timeoutMs;
      const expire = (): void => {
        controller.abort(new TtrpcError(StatusCode.DeadlineExceeded, DEADLINE_MESSAGE));
      };
      if (timeoutMs <= 0) expire();
      else if (timeoutMs <= MAX_TIMER_MS) timer = setTimeout(expire, Math.ceil(timeoutMs));
    }
    const context: CallContext = {
      signal: controller.signal,
      metadata: metadataFromWire(request.metadata),
      service: request.service,
      method: request.method,
      deadline,
      connectionId: this.id,
      streamId,
    };
    const started = performance.now();
    let status: WireStatus | undefined;
    let payload: Uint8Array | undefined;
    try {
      const result = await registered.handler(input, context);
      const output = registered.desc.output;
      payload = toBinary(output, asMessage(output, result));
    } catch (error) {
      status = statusFromError(error, controller.signal);
    } finally {
      clearTimeout(timer);
      this.#calls.delete(streamId);
      this.#server.inFlightCalls--;
    }
    this.#server.completedCalls++;
    this.#server.logger.debug(
      {
        connection: this.id,
        stream: streamId,
        service: request.service,
        method: request.method,
        code: status?.code ?? StatusCode.OK,
        ms: Math.round((performance.now() - started) * 10) / 10,
      },
      "ttrpc: call",
    );
    if (controller.signal.aborted && isCanceledByConnection(controller.signal.reason)) {
      // The connection is gone (or the server was force-closed): nobody to answer.
      return;
    }
    if (status === undefined) this.#writePayload(streamId, payload ?? new Uint8Array(0));
    else this.#writeStatus(streamId, status);
    if (this.#state === "draining" && this.#calls.size === 0) this.#closeAfterFlush();
  }

  #writeStatus(streamId: number, status: WireStatus): void {
    this.#writeResponse(streamId, toBinary(ResponseSchema, create(ResponseSchema, { status })));
  }

  #writePayload(streamId: number, payload: Uint8Array): void {
    // Success = payload only, no status field (what containerd's peers send and expect).
    const response = toBinary(ResponseSchema, create(ResponseSchema, { payload }));
    if (response.length > MAX_MESSAGE_BYTES) {
      this.#writeStatus(streamId, {
        code: StatusCode.ResourceExhausted,
        message: `message length ${response.length} exceed maximum message size of ${MAX_MESSAGE_BYTES}`,
      });
      return;
    }
    this.#writeResponse(streamId, response);
  }

  #writeResponse(streamId: number, response: Uint8Array): void {
    if (this.#state === "closed" || this.#socket.destroyed || !this.#socket.writable) return;
    const accepted = this.#socket.write(encodeFrame(streamId, MessageType.Response, response));
    if (!accepted && !this.#writeBlocked) {
      // Backpressure: a peer that does not read its responses stops getting its requests read.
      this.#writeBlocked = true;
      this.#server.backpressuredConnections++;
      this.#socket.pause();
      this.#socket.once("drain", () => {
        this.#unblock();
        if (this.#state === "open" || this.#state === "draining") this.#socket.resume();
      });
    }
  }

  #unblock(): void {
    if (!this.#writeBlocked) return;
    this.#writeBlocked = false;
    this.#server.backpressuredConnections--;
  }

  /** Protocol violation: log, count, flush what is queued (e.g. a RESOURCE_EXHAUSTED reply), close. */
  #fail(reason: string): void {
    this.#server.brokenConnections++;
    this.#server.logger.warn(
      { connection: this.id, reason },
      "ttrpc: closing connection after protocol error",
    );
    this.#abortCalls();
    this.#closeAfterFlush();
  }

  #onEnd(): void {
    if (this.#decoder.midFrame && this.#state !== "closing" && this.#state !== "closed") {
      this.#server.brokenConnections++;
      this.#server.logger.warn(
        { connection: this.id, reason: "truncated frame", bufferedBytes: this.#decoder.bufferedBytes },
        "ttrpc: closing connection after protocol error",
      );
    }
    // As Go's ttrpc: a client that went away has its calls cancelled.
    this.destroy();
  }

  #closeAfterFlush(): void {
    if (this.#state === "closing" || this.#state === "closed") return;
    this.#state = "closing";
    this.#socket.pause();
    if (this.#socket.destroyed) return;
    // end() flushes queued writes first; then destroy so a peer that never closes cannot hold us.
    this.#socket.end(() => {
      this.#socket.destroy();
    });
  }

  #abortCalls(): void {
    for (const controller of this.#calls.values()) {
      controller.abort(new TtrpcError(StatusCode.Canceled, CANCELED_MESSAGE, { cause: CONNECTION_GONE }));
    }
  }

  #onClose(): void {
    if (this.#state === "closed") return;
    this.#abortCalls();
    this.#unblock();
    this.#state = "closed";
    this.#server.logger.debug({ connection: this.id }, "ttrpc: connection closed");
  }
}

/** Marker cause of the abort reason used when a connection goes away. */
const CONNECTION_GONE = Symbol("ttrpc connection gone");

function isCanceledByConnection(reason: unknown): boolean {
  return reason instanceof TtrpcError && reason.cause === CONNECTION_GONE;
}

function asMessage(schema: DescMessage, value: unknown): Message {
  if (isMessage(value, schema)) return value;
  if (typeof value !== "object" || value === null) {
    throw new TtrpcError(
      StatusCode.Internal,
      `ttrpc: handler returned ${typeof value}, not ${schema.typeName}`,
    );
  }
  return create(schema, value as Record<string, unknown>);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
