/**
 * Types shared by the ttrpc server and client: the logger hook, the handler context, typed
 * service implementations and clients derived from protobuf-es service descriptors, and metadata.
 */
import type { DescMessage, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { KeyValue } from "../gen/ttrpc/ttrpc_pb.js";

/**
 * The logging hook ttrpc accepts: a structural subset of pino's Logger (`(obj, msg)` argument order).
 * The server logs connection-level problems at warn, RPC traces at debug; nothing per byte.
 */
export interface TtrpcLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything (the default). */
export const silentTtrpcLogger: TtrpcLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Request metadata: lower-cased keys, values in arrival order. */
export type Metadata = ReadonlyMap<string, readonly string[]>;

/** Metadata as callers give it: keys are lower-cased before sending, like Go's `ttrpc.MD`. */
export type MetadataInit = Readonly<Record<string, string | readonly string[]>> | Metadata;

/** What a handler learns about its call besides the request message. */
export interface CallContext {
  /**
   * Aborts when the call's deadline (`timeout_nano`) passes — reason: a DeadlineExceeded
   * {@link TtrpcError} — or when the connection closes or the server is force-closed — reason: a
   * Canceled TtrpcError. Rethrowing the reason (or an AbortError caused by it) answers that status.
   */
  readonly signal: AbortSignal;
  /** Request metadata (e.g. `containerd-namespace-ttrpc`). */
  readonly metadata: Metadata;
  /** Fully qualified service name from the request, e.g. `containerd.task.v2.Task`. */
  readonly service: string;
  /** Bare method name from the request, e.g. `Create`. */
  readonly method: string;
  /** Absolute deadline in epoch milliseconds, or undefined when the request has none. */
  readonly deadline: number | undefined;
  /** Server-unique id of the connection the call arrived on (1, 2, …). */
  readonly connectionId: number;
  /** Stream id of the call within its connection (odd). */
  readonly streamId: number;
}

type UnaryMethodShape = { methodKind: "unary"; input: DescMessage; output: DescMessage };

/** Keys of a service's unary methods (husk's ttrpc speaks unary calls only). */
type UnaryKeys<S extends DescService> = {
  [K in keyof S["method"]]: S["method"][K] extends UnaryMethodShape ? K : never;
}[keyof S["method"]];

/** A unary handler: the decoded request in, a response message (or its init shape) out. */
export type UnaryHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: CallContext,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;

/**
 * The implementation of a service: one handler per unary method, keyed by the method's
 * protobuf-es `localName` (`state`, `create`, `resizePty`, `closeIO`, …).
 */
export type ServiceImpl<S extends DescService> = {
  [K in UnaryKeys<S>]: S["method"][K] extends {
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? UnaryHandler<I, O>
    : never;
};

/** Per-call options of the client. */
export interface CallOptions {
  /**
   * Relative deadline in milliseconds: sent as `timeout_nano`, and the call fails locally with
   * DeadlineExceeded when it passes. Absent = no deadline (e.g. Wait, which may block for hours).
   */
  readonly timeoutMs?: number;
  /** Cancels the call locally (Canceled); the server is not told (ttrpc 1.1 has no cancel frame). */
  readonly signal?: AbortSignal;
  /** Request metadata. */
  readonly metadata?: MetadataInit;
}

/** A typed client for a service: one async method per unary RPC, keyed like {@link ServiceImpl}. */
export type ServiceClient<S extends DescService> = {
  [K in UnaryKeys<S>]: S["method"][K] extends {
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? (request: MessageInitShape<I>, options?: CallOptions) => Promise<MessageShape<O>>
    : never;
};

/** Converts request metadata from the wire into a map with lower-cased keys. */
export function metadataFromWire(entries: readonly KeyValue[]): Metadata {
  const map = new Map<string, string[]>();
  for (const { key, value } of entries) {
    const name = key.toLowerCase();
    const list = map.get(name);
    if (list === undefined) map.set(name, [value]);
    else list.push(value);
  }
  return map;
}

/** Flattens caller metadata into wire entries, lower-casing keys. */
export function metadataToWire(init: MetadataInit | undefined): { key: string; value: string }[] {
  if (init === undefined) return [];
  const entries = init instanceof Map ? [...init.entries()] : Object.entries(init);
  const out: { key: string; value: string }[] = [];
  for (const [key, values] of entries as [string, string | readonly string[]][]) {
    const name = key.toLowerCase();
    if (typeof values === "string") out.push({ key: name, value: values });
    else for (const value of values) out.push({ key: name, value });
  }
  return out;
}
