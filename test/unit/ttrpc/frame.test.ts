import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  decodeFrameHeader,
  encodeFrame,
  FRAME_HEADER_BYTES,
  type Frame,
  FrameDecoder,
  FrameTooLargeError,
  MAX_MESSAGE_BYTES,
  MessageType,
} from "../../../src/ttrpc/frame.js";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

function drain(decoder: FrameDecoder): Frame[] {
  const frames: Frame[] = [];
  for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
    frames.push({ header: frame.header, payload: Uint8Array.from(frame.payload) });
  }
  return frames;
}

describe("frame codec", () => {
  it("encodes the headers observed on the wire (225-byte Create on stream 1, empty reply on stream 17)", () => {
    const create = encodeFrame(1, MessageType.Request, new Uint8Array(0xe1));
    assert.equal(hex(create.subarray(0, FRAME_HEADER_BYTES)), "000000e1000000010100");
    assert.equal(create.length, 10 + 0xe1);
    assert.equal(hex(encodeFrame(17, MessageType.Response, new Uint8Array(0))), "00000000000000110200");
  });

  it("decodes a header field by field", () => {
    const header = decodeFrameHeader(Buffer.from("0000001b000000310200", "hex"));
    assert.deepEqual(header, { length: 27, streamId: 0x31, type: 2, flags: 0 });
    assert.deepEqual(decodeFrameHeader(Buffer.from("ffff00000001000000ffff01ab", "hex"), 2), {
      length: 1,
      streamId: 0xff,
      type: 0xff,
      flags: 0x01,
    });
    assert.throws(() => decodeFrameHeader(new Uint8Array(9)), RangeError);
  });

  it("rejects stream ids and types outside their ranges", () => {
    assert.throws(() => encodeFrame(-1, 1, new Uint8Array(0)), RangeError);
    assert.throws(() => encodeFrame(2 ** 32, 1, new Uint8Array(0)), RangeError);
    assert.throws(() => encodeFrame(1, 256, new Uint8Array(0)), RangeError);
    assert.throws(() => encodeFrame(1, 1, new Uint8Array(0), -1), RangeError);
    assert.equal(
      hex(encodeFrame(0xffffffff, 3, Uint8Array.of(7), 5).subarray(0, 10)),
      "00000001ffffffff0305",
    );
  });

  it("decodes a frame split at every byte boundary", () => {
    const stream = Buffer.concat([
      encodeFrame(1, 1, Buffer.from("first payload")),
      encodeFrame(3, 1, new Uint8Array(0)),
      encodeFrame(5, 2, Buffer.from("third")),
    ]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new FrameDecoder();
      decoder.push(stream.subarray(0, cut));
      const frames = drain(decoder);
      decoder.push(stream.subarray(cut));
      frames.push(...drain(decoder));
      assert.deepEqual(
        frames.map((f) => [f.header.streamId, f.header.type, Buffer.from(f.payload).toString()]),
        [
          [1, 1, "first payload"],
          [3, 1, ""],
          [5, 2, "third"],
        ],
        `cut at ${cut}`,
      );
      assert.equal(decoder.bufferedBytes, 0);
      assert.equal(decoder.midFrame, false);
    }
  });

  it("decodes a stream fed one byte at a time", () => {
    const stream = encodeFrame(9, 1, Buffer.from("byte by byte"));
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    for (const byte of stream) {
      assert.equal(frames.length, 0);
      decoder.push(Uint8Array.of(byte));
      frames.push(...drain(decoder));
    }
    assert.equal(frames.length, 1);
    assert.equal(Buffer.from(frames[0]?.payload ?? []).toString(), "byte by byte");
  });

  it("reassembles any frames from any chunking (property)", () => {
    const frameArb = fc.record({
      streamId: fc.integer({ min: 0, max: 0xffffffff }),
      type: fc.integer({ min: 0, max: 255 }),
      flags: fc.integer({ min: 0, max: 255 }),
      payload: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, cuts) => {
          const stream = Buffer.concat(
            frames.map((f) => encodeFrame(f.streamId, f.type, f.payload, f.flags)),
          );
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const decoder = new FrameDecoder();
          const decoded: Frame[] = [];
          let from = 0;
          for (const point of [...points, stream.length]) {
            decoder.push(stream.subarray(from, point));
            from = point;
            decoded.push(...drain(decoder));
          }
          assert.deepEqual(
            decoded.map((f) => ({ ...f.header, payload: hex(f.payload) })),
            frames.map((f) => ({
              length: f.payload.length,
              streamId: f.streamId,
              type: f.type,
              flags: f.flags,
              payload: hex(f.payload),
            })),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("accepts exactly 4 MiB and refuses one byte more, before the payload arrives", () => {
    const decoder = new FrameDecoder();
    const big = new Uint8Array(MAX_MESSAGE_BYTES);
    big[MAX_MESSAGE_BYTES - 1] = 0x5a;
    decoder.push(encodeFrame(1, 1, big));
    const frame = decoder.next();
    assert.equal(frame?.payload.length, MAX_MESSAGE_BYTES);
    assert.equal(frame.payload[MAX_MESSAGE_BYTES - 1], 0x5a);

    const header = Buffer.from("00400001000000070100", "hex");
    decoder.push(header);
    assert.throws(
      () => decoder.next(),
      (error: unknown) =>
        error instanceof FrameTooLargeError &&
        error.header.streamId === 7 &&
        error.message === "message length 4194305 exceed maximum message size of 4194304",
    );
    // The decoder stays failed: the stream is out of sync.
    assert.throws(() => decoder.next(), FrameTooLargeError);
  });

  it("reports a frame in progress (for truncation at EOF)", () => {
    const decoder = new FrameDecoder();
    assert.equal(decoder.midFrame, false);
    decoder.push(Buffer.from("00000005", "hex"));
    assert.equal(decoder.next(), undefined);
    assert.equal(decoder.midFrame, true);
    decoder.push(Buffer.from("000000010100616263", "hex"));
    assert.equal(decoder.next(), undefined);
    assert.equal(decoder.bufferedBytes, 13);
    decoder.push(Buffer.from("6465", "hex"));
    assert.equal(Buffer.from(decoder.next()?.payload ?? []).toString(), "abcde");
    assert.equal(decoder.midFrame, false);
  });

  it("hands out a payload inside one chunk without copying it", () => {
    const chunk = encodeFrame(1, 1, Buffer.from("zero copy"));
    const decoder = new FrameDecoder();
    decoder.push(chunk);
    const frame = decoder.next();
    assert.equal(frame?.payload.buffer, chunk.buffer);
  });

  it("decodes 10,000 frames delivered in 7-byte chunks", () => {
    const frames = Array.from({ length: 10_000 }, (_, i) => encodeFrame(2 * i + 1, 1, Buffer.from(`p${i}`)));
    const stream = Buffer.concat(frames);
    const decoder = new FrameDecoder();
    let count = 0;
    for (let at = 0; at < stream.length; at += 7) {
      decoder.push(stream.subarray(at, at + 7));
      for (let f = decoder.next(); f !== undefined; f = decoder.next()) {
        assert.equal(Buffer.from(f.payload).toString(), `p${count}`);
        assert.equal(f.header.streamId, 2 * count + 1);
        count++;
      }
    }
    assert.equal(count, 10_000);
  });
});
