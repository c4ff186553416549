/**
 * A minimal protobuf wire reader for the few shim replies the end-to-end tests decode by hand (independent of the
 * generated code under test). Wire format facts: protobuf encoding guide (varints, wire types 0/1/2/5, zigzag only
 * for sint types — int64 uses plain two's complement varints).
 */

/** One field as read off the wire. */
export type WireField =
  | { readonly number: number; readonly wireType: 0; readonly value: bigint }
  | { readonly number: number; readonly wireType: 1; readonly value: Uint8Array }
  | { readonly number: number; readonly wireType: 2; readonly value: Uint8Array }
  | { readonly number: number; readonly wireType: 5; readonly value: Uint8Array };

/** Reads a base-128 varint at `offset`; returns the value (as unsigned 64-bit) and the offset after it. */
export function readVarint(bytes: Uint8Array, offset: number): { value: bigint; next: number } {
  let value = 0n;
  let shift = 0n;
  for (let i = offset; i < bytes.length; i++) {
    const byte = bytes[i] ?? 0;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value: BigInt.asUintN(64, value), next: i + 1 };
    shift += 7n;
    if (shift > 63n) throw new Error(`varint at offset ${offset} is longer than 10 bytes`);
  }
  throw new Error(`truncated varint at offset ${offset}`);
}

/** Splits a message into its fields in wire order; throws on truncation or unknown wire types (3/4 groups). */
export function readFields(bytes: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const tag = readVarint(bytes, offset);
    offset = tag.next;
    const number = Number(tag.value >> 3n);
    const wireType = Number(tag.value & 7n);
    if (number === 0) throw new Error(`field number 0 at offset ${offset}`);
    if (wireType === 0) {
      const v = readVarint(bytes, offset);
      offset = v.next;
      fields.push({ number, wireType, value: v.value });
    } else if (wireType === 2) {
      const length = readVarint(bytes, offset);
      const end = length.next + Number(length.value);
      if (end > bytes.length) throw new Error(`field ${number} runs past the end (${end} > ${bytes.length})`);
      fields.push({ number, wireType, value: bytes.subarray(length.next, end) });
      offset = end;
    } else if (wireType === 1 || wireType === 5) {
      const size = wireType === 1 ? 8 : 4;
      if (offset + size > bytes.length) throw new Error(`fixed field ${number} runs past the end`);
      fields.push({ number, wireType, value: bytes.subarray(offset, offset + size) });
      offset += size;
    } else {
      throw new Error(`unsupported wire type ${wireType} for field ${number}`);
    }
  }
  return fields;
}

/** `google.protobuf.Timestamp` (1 seconds int64, 2 nanos int32). */
export interface Timestamp {
  readonly seconds: bigint;
  readonly nanos: number;
}

/** Decodes a Timestamp; absent fields are zero. */
export function decodeTimestamp(bytes: Uint8Array): Timestamp {
  let seconds = 0n;
  let nanos = 0;
  for (const field of readFields(bytes)) {
    if (field.number === 1 && field.wireType === 0) seconds = BigInt.asIntN(64, field.value);
    if (field.number === 2 && field.wireType === 0) nanos = Number(BigInt.asIntN(32, field.value));
  }
  return { seconds, nanos };
}

/** `containerd.task.v2.DeleteResponse` (1 pid uint32, 2 exit_status uint32, 3 exited_at Timestamp). */
export interface DeleteResponse {
  readonly pid: number;
  readonly exitStatus: number;
  /** Undefined when the field is absent on the wire. */
  readonly exitedAt: Timestamp | undefined;
}

/**
 * Decodes a DeleteResponse strictly: only fields 1–3 with their proper wire types are allowed, so stray bytes on the
 * shim's stdout (log text, a newline) make it throw. Counterpart: containerd `runtime/v2/binary.go` Delete, which
 * unmarshals the `delete` subcommand's stdout the same way.
 */
export function decodeDeleteResponse(bytes: Uint8Array): DeleteResponse {
  let pid = 0;
  let exitStatus = 0;
  let exitedAt: Timestamp | undefined;
  for (const field of readFields(bytes)) {
    if (field.number === 1 && field.wireType === 0) pid = Number(BigInt.asUintN(32, field.value));
    else if (field.number === 2 && field.wireType === 0) exitStatus = Number(BigInt.asUintN(32, field.value));
    else if (field.number === 3 && field.wireType === 2) exitedAt = decodeTimestamp(field.value);
    else throw new Error(`unexpected field ${field.number} (wire type ${field.wireType}) in DeleteResponse`);
  }
  return { pid, exitStatus, exitedAt };
}
