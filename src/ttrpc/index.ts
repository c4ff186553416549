/**
 * husk's ttrpc: the protocol containerd speaks to its shims, as a generic server and client over
 * unix sockets. Imports nothing of husk but the generated ttrpc envelope messages and the gRPC code table.
 *
 * containerd counterpart: `github.com/containerd/ttrpc` v1.1 (unary calls only).
 */
export { createTtrpcClient, type TtrpcClient, type TtrpcClientOptions } from "./client.js";
export {
  decodeFrameHeader,
  encodeFrame,
  FRAME_HEADER_BYTES,
  type Frame,
  FrameDecoder,
  type FrameHeader,
  FrameTooLargeError,
  MAX_MESSAGE_BYTES,
  MessageType,
} from "./frame.js";
export {
  createTtrpcServer,
  type ListenTarget,
  type TtrpcServer,
  type TtrpcServerOptions,
  type TtrpcServerStats,
} from "./server.js";
export {
  CANCELED_MESSAGE,
  CLOSED_MESSAGE,
  DEADLINE_MESSAGE,
  hasWireStatus,
  isTtrpcError,
  StatusCode,
  statusCodeName,
  statusFromError,
  TtrpcError,
  type WireStatus,
} from "./status.js";
export type {
  CallContext,
  CallOptions,
  Metadata,
  MetadataInit,
  ServiceClient,
  ServiceImpl,
  TtrpcLogger,
  UnaryHandler,
} from "./types.js";
export { silentTtrpcLogger } from "./types.js";
