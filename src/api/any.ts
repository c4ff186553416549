/**
 * `google.protobuf.Any` the way containerd writes it: protobuf payloads under their **bare** type
 * name (`containerd.runc.v1.Options`, `containerd.events.TaskExit` — no `type.googleapis.com/`
 * prefix), OCI payloads as **JSON** under `types.containerd.io/opencontainers/runtime-spec/1/<Name>`.
 *
 * containerd counterpart: `github.com/containerd/typeurl` (`MarshalAny`, `UnmarshalAny`) and
 * containerd's `runtime/typeurl.go` registrations.
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type Message,
  type MessageShape,
  type Registry,
  toBinary,
} from "@bufbuild/protobuf";
import { type Any, AnySchema } from "@bufbuild/protobuf/wkt";
import { invalidArgument } from "../errors.js";

/** Type URLs of the OCI runtime-spec payloads containerd sends as JSON inside an Any. */
export const OciTypeUrl = {
  /** ExecProcessRequest.spec. */
  Process: "types.containerd.io/opencontainers/runtime-spec/1/Process",
  /** UpdateTaskRequest.resources. */
  LinuxResources: "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources",
  /** A whole OCI spec, should one ever be sent. */
  Spec: "types.containerd.io/opencontainers/runtime-spec/1/Spec",
} as const;

/** The prefix protobuf's own tools put in front of a type name; containerd never writes it. */
const GOOGLE_PREFIX = "type.googleapis.com/";

/**
 * Packs a message into an Any with the bare type name as URL, as containerd's typeurl does
 * (e.g. `containerd.runc.v1.Options`). Use this, not protobuf-es' `anyPack`, for anything containerd reads.
 */
export function packAny<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Any {
  return create(AnySchema, { typeUrl: schema.typeName, value: toBinary(schema, message) });
}

/** The message type name an Any names: its URL, minus a `type.googleapis.com/` prefix if present. */
export function anyTypeName(any: Any): string {
  return any.typeUrl.startsWith(GOOGLE_PREFIX) ? any.typeUrl.slice(GOOGLE_PREFIX.length) : any.typeUrl;
}

/**
 * Unpacks a protobuf Any. With a schema: the message if the Any holds exactly that type, else
 * undefined. With a registry: whatever registered message the URL names, else undefined. The URL
 * is matched verbatim (a `type.googleapis.com/` prefix is tolerated on input); an empty URL gives
 * undefined. Throws InvalidArgument when the bytes do not decode as the named type.
 */
export function unpackAny<Desc extends DescMessage>(any: Any, schema: Desc): MessageShape<Desc> | undefined;
export function unpackAny(any: Any, registry: Registry): Message | undefined;
export function unpackAny(any: Any, schemaOrRegistry: DescMessage | Registry): Message | undefined {
  if (any.typeUrl === "") return undefined;
  const name = anyTypeName(any);
  const schema =
    "kind" in schemaOrRegistry && schemaOrRegistry.kind === "message"
      ? schemaOrRegistry.typeName === name
        ? schemaOrRegistry
        : undefined
      : schemaOrRegistry.getMessage(name);
  if (schema === undefined) return undefined;
  try {
    return fromBinary(schema, any.value);
  } catch (error) {
    throw invalidArgument(`any "${any.typeUrl}": cannot decode ${name}`, error);
  }
}

/**
 * Packs a JSON value (an OCI Process, LinuxResources, Spec …) into an Any with the given type URL;
 * the value is UTF-8 JSON text, as containerd writes OCI types.
 */
export function packJsonAny(typeUrl: string, value: unknown): Any {
  const text = JSON.stringify(value);
  // JSON.stringify answers undefined for undefined, functions and symbols.
  if (typeof text !== "string") throw invalidArgument(`any "${typeUrl}": value is not JSON-serialisable`);
  return create(AnySchema, { typeUrl, value: new TextEncoder().encode(text) });
}

/**
 * Parses the JSON payload of an Any (OCI types). Throws InvalidArgument naming the type URL when the
 * bytes are not UTF-8 JSON. The result is untyped: validate it before use.
 */
export function unpackJsonAny(any: Any): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(any.value);
  } catch (error) {
    throw invalidArgument(`any "${any.typeUrl}": payload is not UTF-8`, error);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw invalidArgument(`any "${any.typeUrl}": payload is not JSON`, error);
  }
}
