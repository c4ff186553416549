/**
 * Descriptor conformance: every message, enum and service husk defines in proto/ must equal
 * containerd's own definition — field for field (name, number, type, label, packing, message/enum
 * type name), value for value, method for method. containerd's .proto files come from Debian at test
 * time (test/support/containerd-protos.ts); the ttrpc envelope and google.rpc.Status, for which no
 * .proto file exists in those packages, are checked against the protobuf tags of the Go structs that
 * containerd's ttrpc encodes. Fails (never skips) when the Debian archive is unreachable.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import {
  createFileRegistry,
  createRegistry,
  type DescEnum,
  type DescField,
  type DescFile,
  type DescMessage,
  type DescService,
  type FileRegistry,
  ScalarType,
} from "@bufbuild/protobuf";
import { file_cgroups_v1_metrics } from "../../../src/gen/cgroups/v1/metrics_pb.js";
import { file_cgroups_v2_metrics } from "../../../src/gen/cgroups/v2/metrics_pb.js";
import { file_containerd_events_task } from "../../../src/gen/containerd/events/task_pb.js";
import { file_containerd_linux_runc_runc } from "../../../src/gen/containerd/linux/runc/runc_pb.js";
import { file_containerd_runc_v1_options } from "../../../src/gen/containerd/runc/v1/options_pb.js";
import { file_containerd_services_events_ttrpc_v1_events } from "../../../src/gen/containerd/services/events/ttrpc/v1/events_pb.js";
import { file_containerd_task_v2_shim } from "../../../src/gen/containerd/task/v2/shim_pb.js";
import { file_containerd_types_mount } from "../../../src/gen/containerd/types/mount_pb.js";
import { file_containerd_types_task_task } from "../../../src/gen/containerd/types/task/task_pb.js";
import { file_google_rpc_status } from "../../../src/gen/google/rpc/status_pb.js";
import { file_runtimeoptions_v1_options } from "../../../src/gen/runtimeoptions/v1/options_pb.js";
import { file_ttrpc_ttrpc } from "../../../src/gen/ttrpc/ttrpc_pb.js";
import {
  COMPARED_PROTO_PATHS,
  type ContainerdProtos,
  loadContainerdProtos,
} from "../../support/containerd-protos.js";

/** husk's files compared with containerd's .proto files. */
const OURS: readonly DescFile[] = [
  file_containerd_task_v2_shim,
  file_containerd_types_mount,
  file_containerd_types_task_task,
  file_containerd_events_task,
  file_containerd_services_events_ttrpc_v1_events,
  file_containerd_runc_v1_options,
  file_containerd_linux_runc_runc,
  file_runtimeoptions_v1_options,
  file_cgroups_v1_metrics,
  file_cgroups_v2_metrics,
];

/**
 * husk package → containerd package. All identical: the packages are the protocol (type URLs and the
 * service name), and containerd's files differ from ours only by gogoproto options, which do not
 * change the wire.
 */
const PACKAGE_MAP: Readonly<Record<string, string>> = Object.fromEntries(
  OURS.map((f) => [f.proto.package, f.proto.package]),
);

/** containerd's full name for one of our full names (longest matching package prefix is mapped). */
function theirName(ourTypeName: string): string {
  let best = "";
  for (const ourPackage of Object.keys(PACKAGE_MAP)) {
    if (ourTypeName.startsWith(`${ourPackage}.`) && ourPackage.length > best.length) best = ourPackage;
  }
  return best === "" ? ourTypeName : `${PACKAGE_MAP[best] ?? best}${ourTypeName.slice(best.length)}`;
}

function allMessages(file: DescFile): DescMessage[] {
  const out: DescMessage[] = [];
  const walk = (m: DescMessage) => {
    out.push(m);
    m.nestedMessages.forEach(walk);
  };
  file.messages.forEach(walk);
  return out;
}

function allEnums(file: DescFile): DescEnum[] {
  const out: DescEnum[] = [...file.enums];
  for (const m of allMessages(file)) out.push(...m.nestedEnums);
  return out;
}

/** Everything about a field that reaches the wire or the type system. */
function fieldShape(field: DescField) {
  const p = field.proto;
  return {
    name: p.name,
    number: p.number,
    label: p.label,
    type: p.type,
    typeName: p.typeName,
    oneofIndex: p.oneofIndex,
    proto3Optional: p.proto3Optional,
    packed: field.fieldKind === "list" ? field.packed : undefined,
    map:
      field.fieldKind === "map"
        ? {
            key: field.mapKey,
            kind: field.mapKind,
            value:
              field.mapKind === "scalar"
                ? field.scalar
                : field.mapKind === "enum"
                  ? field.enum.typeName
                  : field.message.typeName,
          }
        : undefined,
  };
}

let containerd: ContainerdProtos;
let theirs: FileRegistry;
const ours = createRegistry(...OURS);

describe("descriptor conformance with containerd's own .proto files", () => {
  before(async () => {
    containerd = await loadContainerdProtos();
    theirs = createFileRegistry(containerd.fileSet);
  });

  it("compiles containerd's definitions from the Debian packages", (t) => {
    const compiled = new Set(containerd.fileSet.file.map((f) => f.name));
    for (const path of COMPARED_PROTO_PATHS) assert.ok(compiled.has(path), `${path} was not compiled`);
    t.diagnostic(`packages: ${containerd.packages.join(", ")}`);
    t.diagnostic(`compared containerd files: ${COMPARED_PROTO_PATHS.join(", ")}`);
  });

  it("defines exactly containerd's messages, enums and services in each package", () => {
    const comparedFiles = containerd.fileSet.file.filter((f) =>
      (COMPARED_PROTO_PATHS as readonly string[]).includes(f.name),
    );
    const theirTypes = new Set<string>();
    for (const proto of comparedFiles) {
      const file = theirs.getFile(proto.name);
      assert.ok(file);
      for (const m of allMessages(file)) if (m.proto.options?.mapEntry !== true) theirTypes.add(m.typeName);
      for (const e of allEnums(file)) theirTypes.add(e.typeName);
      for (const s of file.services) theirTypes.add(s.typeName);
    }
    const ourTypes = new Set<string>();
    for (const file of OURS) {
      for (const m of allMessages(file)) {
        if (m.proto.options?.mapEntry !== true) ourTypes.add(theirName(m.typeName));
      }
      for (const e of allEnums(file)) ourTypes.add(theirName(e.typeName));
      for (const s of file.services) ourTypes.add(theirName(s.typeName));
    }
    assert.deepEqual([...ourTypes].sort(), [...theirTypes].sort());
  });

  for (const file of OURS) {
    describe(`${file.name} (package ${file.proto.package})`, () => {
      for (const message of allMessages(file)) {
        it(`message ${message.typeName} matches field for field`, () => {
          const their = theirs.getMessage(theirName(message.typeName));
          assert.ok(their, `containerd has no message ${message.typeName}`);
          const shape = (m: DescMessage) =>
            [...m.fields].sort((a, b) => a.number - b.number).map((f) => fieldShape(f));
          // Type names inside field descriptors are fully qualified; map our packages to theirs.
          const ourShape = shape(message).map((f) => ({
            ...f,
            typeName: f.typeName === "" ? f.typeName : `.${theirName(f.typeName.slice(1))}`,
          }));
          assert.deepEqual(ourShape, shape(their));
          assert.equal(message.proto.options?.mapEntry === true, their.proto.options?.mapEntry === true);
          assert.equal(message.oneofs.length, their.oneofs.length);
        });
      }
      for (const e of allEnums(file)) {
        it(`enum ${e.typeName} matches value for value`, () => {
          const their = theirs.getEnum(theirName(e.typeName));
          assert.ok(their, `containerd has no enum ${e.typeName}`);
          const values = (d: DescEnum) => d.values.map((v) => [v.name, v.number]);
          assert.deepEqual(values(e), values(their));
        });
      }
      for (const service of file.services) {
        it(`service ${service.typeName} matches method for method`, () => {
          const their = theirs.getService(theirName(service.typeName));
          assert.ok(their, `containerd has no service ${service.typeName}`);
          const methods = (s: DescService) =>
            s.methods.map((m) => ({
              name: m.name,
              input: m.input.typeName,
              output: m.output.typeName,
              clientStreaming: m.proto.clientStreaming,
              serverStreaming: m.proto.serverStreaming,
            }));
          assert.deepEqual(methods(service), methods(their));
        });
      }
    });
  }

  it("checks every message, enum and service husk defines for containerd (nothing left out)", () => {
    const checked = OURS.flatMap((f) => [...allMessages(f), ...allEnums(f), ...f.services]).length;
    const total = [...ours].filter((t) => t.kind !== "extension").length;
    assert.equal(checked, total);
  });
});

/** A field as Go's protobuf struct tag describes it. */
interface GoField {
  readonly name: string;
  readonly number: number;
  readonly repeated: boolean;
  readonly goType: string;
}

/** Parses `type X struct { … }` blocks and their `protobuf:"…"` tags out of Go source text. */
function goStructs(source: string): Map<string, GoField[]> {
  const structs = new Map<string, GoField[]>();
  for (const [, name, body] of source.matchAll(/^type (\w+) struct \{\n([\s\S]*?)^\}/gm)) {
    const fields: GoField[] = [];
    for (const [, goType, tag] of (body ?? "").matchAll(/^\s*\w+\s+(\S+)\s+`protobuf:"([^"]+)"/gm)) {
      const parts = (tag ?? "").split(",");
      const fieldName = parts.find((p) => p.startsWith("name="))?.slice("name=".length) ?? "";
      fields.push({
        name: fieldName,
        number: Number(parts[1]),
        repeated: parts[2] === "rep",
        goType: goType ?? "",
      });
    }
    structs.set(name ?? "", fields);
  }
  return structs;
}

/** The Go type a field of ours must have in the Go struct. */
function expectedGoType(field: DescField): string {
  const element = (
    kind: "scalar" | "message" | "enum",
    scalar?: ScalarType,
    message?: DescMessage,
  ): string => {
    if (kind === "message") {
      const local = { "google.rpc.Status": "spb.Status", "google.protobuf.Any": "any.Any" }[
        message?.typeName ?? ""
      ];
      return `*${local ?? message?.name}`;
    }
    switch (scalar) {
      case ScalarType.STRING:
        return "string";
      case ScalarType.BYTES:
        return "[]byte";
      case ScalarType.INT64:
        return "int64";
      case ScalarType.INT32:
        return "int32";
      default:
        return `unexpected scalar ${scalar}`;
    }
  };
  switch (field.fieldKind) {
    case "scalar":
      return element("scalar", field.scalar);
    case "message":
      return element("message", undefined, field.message);
    case "list":
      return `[]${field.listKind === "message" ? element("message", undefined, field.message) : element("scalar", field.listKind === "scalar" ? field.scalar : undefined)}`;
    default:
      return `unexpected ${field.fieldKind}`;
  }
}

describe("ttrpc envelope and status conformance with containerd's Go ttrpc", () => {
  before(async () => {
    containerd = await loadContainerdProtos();
  });

  const check = (source: () => string, file: DescFile, goName: (m: DescMessage) => string) => {
    for (const message of file.messages) {
      it(`${message.typeName} matches the Go struct ${goName(message)}`, () => {
        const go = goStructs(source()).get(goName(message));
        assert.ok(go, `no Go struct ${goName(message)}`);
        assert.deepEqual(
          message.fields.map((f) => ({
            name: f.name,
            number: f.number,
            repeated: f.fieldKind === "list",
            goType: expectedGoType(f),
          })),
          go,
        );
      });
    }
  };
  check(
    () => containerd.goSources.ttrpcTypes,
    file_ttrpc_ttrpc,
    (m) => m.name,
  );
  check(
    () => containerd.goSources.rpcStatus,
    file_google_rpc_status,
    (m) => m.name,
  );

  it("has the packages ttrpc peers expect", () => {
    assert.equal(file_ttrpc_ttrpc.proto.package, "ttrpc");
    assert.match(containerd.goSources.ttrpcTypes, /^package ttrpc$/m);
    assert.equal(file_google_rpc_status.proto.package, "google.rpc");
    assert.match(containerd.goSources.rpcStatus, /^\/\/ source: google\/rpc\/status\.proto$/m);
  });
});
