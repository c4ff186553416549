/**
 * The ttrpc frame codec: a 10-byte big-endian header (payload length, stream id, message type,
 * flags) followed by the payload. Pure functions and an incremental decoder; no sockets here.
 *
 * containerd counterpart: `github.com/containerd/ttrpc` `channel.go` (`readMessageHeader`,
 * `writeMessageHeader`, `channel.recv`, `channel.send`).
 */

/** Size of a frame header in bytes. */
export const FRAME_HEADER_BYTES = 10;

/**
 * Largest payload ttrpc accepts, in bytes (4 MiB). A header announcing more is a protocol error;
 * since the limit is below 2^24, the first header byte is always 0.
 */
export const MAX_MESSAGE_BYTES = 4 << 20;

/** Frame message types. ttrpc 1.1 (containerd 1.6) knows only Request and Response. */
export const MessageType = {
  /** Client → server: a `ttrpc.Request`. */
  Request: 1,
  /** Server → client: a `ttrpc.Response`. */
  Response: 2,
  /** ttrpc ≥ 1.2 streaming data; husk does not speak streams. */
  Data: 3,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** A decoded frame header. */
export interface FrameHeader {
  /** Payload length in bytes, not counting the header. */
  readonly length: number;
  /** Stream id: odd for client-initiated streams. */
  readonly streamId: number;
  /** Message type byte; see {@link MessageType}. */
  readonly type: number;
  /** Flags byte; 0 for unary calls. */
  readonly flags: number;
}

/** A whole frame: its header and exactly `header.length` payload bytes. */
export interface Frame {
  readonly header: FrameHeader;
  readonly payload: Uint8Array;
}

/** A header announced a payload above the limit. The decoder is unusable afterwards. */
export class FrameTooLargeError extends Error {
  readonly header: FrameHeader;
  readonly maxBytes: number;

  constructor(header: FrameHeader, maxBytes: number) {
    // Same text as ttrpc's RESOURCE_EXHAUSTED status, so peers read the same error from husk.
    super(`message length ${header.length} exceed maximum message size of ${maxBytes}`);
    this.name = "FrameTooLargeError";
    this.header = header;
    this.maxBytes = maxBytes;
  }
}

/** Reads a header from the first 10 bytes of `bytes` (starting at `offset`). */
export function decodeFrameHeader(bytes: Uint8Array, offset = 0): FrameHeader {
  if (bytes.length - offset < FRAME_HEADER_BYTES) {
    throw new RangeError(`frame header needs ${FRAME_HEADER_BYTES} bytes, got ${bytes.length - offset}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, FRAME_HEADER_BYTES);
  return {
    length: view.getUint32(0),
    streamId: view.getUint32(4),
    type: view.getUint8(8),
    flags: view.getUint8(9),
  };
}

/**
 * Encodes one frame (header and payload) into a single new buffer, ready for one socket write.
 * The header's length is taken from the payload. Throws RangeError for a stream id outside uint32
 * or a type/flags value outside uint8; the caller enforces {@link MAX_MESSAGE_BYTES}.
 */
export function encodeFrame(streamId: number, type: number, payload: Uint8Array, flags = 0): Buffer {
  if (!Number.isInteger(streamId) || streamId < 0 || streamId > 0xffff_ffff) {
    throw new RangeError(`stream id ${streamId} is not a uint32`);
  }
  if (
    !Number.isInteger(type) ||
    type < 0 ||
    type > 0xff ||
    !Number.isInteger(flags) ||
    flags < 0 ||
    flags > 0xff
  ) {
    throw new RangeError(`frame type ${type} / flags ${flags} out of range`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(streamId, 4);
  frame.writeUInt8(type, 8);
  frame.writeUInt8(flags, 9);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Incremental frame decoder. Feed it socket chunks with {@link FrameDecoder.push} and pull whole
 * frames with {@link FrameDecoder.next}. Every received byte is copied at most once (a payload that
 * lies inside one chunk is a zero-copy view of it), so decoding is linear in the input however the
 * stream is split. Not thread-safe; one decoder per connection.
 */
export class FrameDecoder {
  readonly #maxPayloadBytes: number;
  #chunks: Uint8Array[] = [];
  /** Index of the first unconsumed chunk in #chunks. */
  #head = 0;
  /** Offset of the first unconsumed byte within #chunks[#head]. */
  #offset = 0;
  #buffered = 0;
  #header: FrameHeader | undefined;
  #failed: FrameTooLargeError | undefined;

  constructor(options: { maxPayloadBytes?: number } = {}) {
    this.#maxPayloadBytes = options.maxPayloadBytes ?? MAX_MESSAGE_BYTES;
  }

  /** Bytes received but not yet returned as frames (including a decoded pending header). */
  get bufferedBytes(): number {
    return this.#buffered + (this.#header === undefined ? 0 : FRAME_HEADER_BYTES);
  }

  /** True when a frame has begun but is incomplete: EOF now would truncate it. */
  get midFrame(): boolean {
    return this.bufferedBytes > 0;
  }

  /** Appends received bytes. The decoder keeps a reference to `chunk`; do not reuse it. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * Returns the next complete frame, or undefined when more bytes are needed. Throws
   * {@link FrameTooLargeError} (again on every later call) once a header announces an oversize payload.
   */
  next(): Frame | undefined {
    if (this.#failed !== undefined) throw this.#failed;
    if (this.#header === undefined) {
      if (this.#buffered < FRAME_HEADER_BYTES) return undefined;
      const header = decodeFrameHeader(this.#take(FRAME_HEADER_BYTES));
      if (header.length > this.#maxPayloadBytes) {
        this.#failed = new FrameTooLargeError(header, this.#maxPayloadBytes);
        throw this.#failed;
      }
      this.#header = header;
    }
    const header = this.#header;
    if (this.#buffered < header.length) return undefined;
    this.#header = undefined;
    return { header, payload: this.#take(header.length) };
  }

  /** Removes and returns `n` buffered bytes (caller checked that they are there). */
  #take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    this.#buffered -= n;
    const first = this.#chunks[this.#head] as Uint8Array;
    const available = first.length - this.#offset;
    if (available >= n) {
      const view = first.subarray(this.#offset, this.#offset + n);
      this.#advance(n, available);
      return view;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[this.#head] as Uint8Array;
      const left = chunk.length - this.#offset;
      const count = Math.min(left, n - filled);
      out.set(chunk.subarray(this.#offset, this.#offset + count), filled);
      filled += count;
      this.#advance(count, left);
    }
    return out;
  }

  #advance(count: number, availableInHead: number): void {
    if (count < availableInHead) {
      this.#offset += count;
      return;
    }
    this.#chunks[this.#head] = EMPTY;
    this.#head++;
    this.#offset = 0;
    // Compact now and then so the array does not grow without bound on a long-lived connection.
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head >= 64 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);
