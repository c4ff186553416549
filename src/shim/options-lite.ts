/**
 * Just enough protobuf to read the options `start` receives on stdin, without loading a protobuf library on the
 * `start` path: the `google.protobuf.Any` envelope and the few string fields `start` needs (shim cgroup, config path).
 * The daemon decodes the same options fully with the generated schemas.
 */

/** Fields of a message: field number → the last length-delimited value (strings/bytes), or varint. */
type Fields = Map<number, Uint8Array | bigint>;

/** Decodes one protobuf message's top-level fields; throws on malformed input. */
export function readFields(bytes: Uint8Array): Fields {
  const fields: Fields = new Map();
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = bytes[at++];
      if (byte === undefined) throw new Error("truncated varint");
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Error("varint too long");
  };
  while (at < bytes.length) {
    const key = varint();
    const field = Number(key >> 3n);
    switch (Number(key & 7n)) {
      case 0:
        fields.set(field, varint());
        break;
      case 1:
        at += 8;
        break;
      case 2: {
        const length = Number(varint());
        if (at + length > bytes.length) throw new Error("truncated field");
        fields.set(field, bytes.subarray(at, at + length));
        at += length;
        break;
      }
      case 5:
        at += 4;
        break;
      default:
        throw new Error(`unsupported wire type in field ${field}`);
    }
  }
  return fields;
}

/** A string field, or "" when absent. */
export function stringField(fields: Fields, field: number): string {
  const value = fields.get(field);
  return value instanceof Uint8Array ? new TextDecoder().decode(value) : "";
}

/** What `start` needs from its stdin options. */
export interface StartOptions {
  readonly typeUrl: string;
  /** runc Options.shim_cgroup (field 3) or legacy CreateOptions.shim_cgroup (field 9). */
  readonly shimCgroup: string;
  /** CRI runtimeoptions.v1.Options.config_path (field 2): husk's config file. */
  readonly configPath: string;
}

/** Reads the Any on `start`'s stdin (empty input → no options). */
export function readStartOptions(stdin: Uint8Array): StartOptions {
  if (stdin.length === 0) return { typeUrl: "", shimCgroup: "", configPath: "" };
  const any = readFields(stdin);
  const typeUrl = stringField(any, 1);
  const value = any.get(2);
  const inner = value instanceof Uint8Array ? readFields(value) : new Map<number, Uint8Array | bigint>();
  switch (typeUrl.replace(/^.*\//, "")) {
    case "containerd.runc.v1.Options":
      return { typeUrl, shimCgroup: stringField(inner, 3), configPath: "" };
    case "containerd.linux.runc.CreateOptions":
      return { typeUrl, shimCgroup: stringField(inner, 9), configPath: "" };
    case "runtimeoptions.v1.Options":
      return { typeUrl, shimCgroup: "", configPath: stringField(inner, 2) };
    default:
      return { typeUrl, shimCgroup: "", configPath: "" };
  }
}
