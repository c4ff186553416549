import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  create,
  createRegistry,
  type DescEnum,
  type DescField,
  type DescMessage,
  equals,
  fromBinary,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import fc from "fast-check";
import {
  apiRegistry,
  packAny,
  RuncOptionsSchema,
  TaskExitSchema,
  unpackAny,
} from "../../../src/api/index.js";
import { file_google_rpc_status } from "../../../src/gen/google/rpc/status_pb.js";
import { file_husk_test_v1_echo } from "../../../src/gen/husk/test/v1/echo_pb.js";
import { file_ttrpc_ttrpc } from "../../../src/gen/ttrpc/ttrpc_pb.js";

/** Every message husk generates: the containerd API, the ttrpc envelope and status, the test service. */
const registry = createRegistry(
  apiRegistry,
  file_ttrpc_ttrpc,
  file_google_rpc_status,
  file_husk_test_v1_echo,
);
const messages = [...registry].filter((t): t is DescMessage => t.kind === "message");

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const UINT32 = { min: 0, max: 2 ** 32 - 1 };
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };
const UINT64 = { min: 0n, max: 2n ** 64n - 1n };

function scalar(type: ScalarType): fc.Arbitrary<unknown> {
  switch (type) {
    case ScalarType.STRING:
      return fc.string({ unit: "grapheme", maxLength: 12 });
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 12 });
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return fc.integer(INT32);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.integer(UINT32);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return fc.bigInt(INT64);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.bigInt(UINT64);
    case ScalarType.FLOAT:
      return fc.float({ noNaN: true });
    case ScalarType.DOUBLE:
      return fc.double({ noNaN: true });
  }
}

function enumValue(desc: DescEnum): fc.Arbitrary<number> {
  return fc.constantFrom(...desc.values.map((v) => v.number));
}

/** An arbitrary filling every field of `desc` (sub-messages down to `depth`). */
function messageInit(desc: DescMessage, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of desc.fields) {
    assert.equal(field.oneof, undefined, `${desc.typeName}: oneofs are not handled by this test`);
    fields[field.localName] = fieldValue(field, depth);
  }
  return fc.record(fields, { requiredKeys: [] });
}

function fieldValue(field: DescField, depth: number): fc.Arbitrary<unknown> {
  const sub = (desc: DescMessage) => messageInit(desc, depth - 1).map((init) => create(desc, init));
  switch (field.fieldKind) {
    case "scalar":
      return scalar(field.scalar);
    case "enum":
      return enumValue(field.enum);
    case "message":
      return depth > 0 ? sub(field.message) : fc.constant(undefined);
    case "list":
      if (field.listKind === "scalar") return fc.array(scalar(field.scalar), { maxLength: 4 });
      if (field.listKind === "enum") return fc.array(enumValue(field.enum), { maxLength: 4 });
      return depth > 0 ? fc.array(sub(field.message), { maxLength: 3 }) : fc.constant([]);
    case "map": {
      const key = scalar(field.mapKey).map(String);
      const value =
        field.mapKind === "scalar"
          ? scalar(field.scalar)
          : field.mapKind === "enum"
            ? enumValue(field.enum)
            : sub(field.message);
      return fc.dictionary(key, value, { maxKeys: 4 });
    }
  }
}

describe("generated messages", () => {
  it("cover every message husk speaks", () => {
    const names = new Set(messages.map((m) => m.typeName));
    for (const name of [
      "ttrpc.Request",
      "ttrpc.Response",
      "ttrpc.KeyValue",
      "google.rpc.Status",
      "containerd.task.v2.CreateTaskRequest",
      "containerd.task.v2.ConnectResponse",
      "containerd.types.Mount",
      "containerd.v1.types.ProcessInfo",
      "containerd.events.TaskCreate",
      "containerd.events.TaskCheckpointed",
      "containerd.events.TaskIO",
      "containerd.services.events.ttrpc.v1.Envelope",
      "containerd.runc.v1.Options",
      "containerd.runc.v1.CheckpointOptions",
      "containerd.runc.v1.ProcessDetails",
      "containerd.linux.runc.CreateOptions",
      "runtimeoptions.v1.Options",
      "io.containerd.cgroups.v1.Metrics",
      "io.containerd.cgroups.v1.MemoryStat",
      "io.containerd.cgroups.v2.Metrics",
      "io.containerd.cgroups.v2.MemoryEvents",
    ]) {
      assert.ok(names.has(name), `missing ${name}`);
    }
    const perPackage = new Map<string, number>();
    for (const m of messages)
      perPackage.set(m.file.proto.package, (perPackage.get(m.file.proto.package) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries([...perPackage].sort()), {
      "containerd.events": 11,
      "containerd.linux.runc": 4,
      "containerd.runc.v1": 3,
      "containerd.services.events.ttrpc.v1": 2,
      "containerd.task.v2": 26,
      "containerd.types": 1,
      "containerd.v1.types": 2,
      "google.protobuf": 2, // Empty and Timestamp, from the runtime library
      "google.rpc": 1,
      "husk.test.v1": 2,
      "io.containerd.cgroups.v1": 15,
      "io.containerd.cgroups.v2": 10,
      "runtimeoptions.v1": 1,
      ttrpc: 4,
    });
  });

  for (const desc of messages) {
    it(`${desc.typeName} round-trips through the binary format`, () => {
      fc.assert(
        fc.property(messageInit(desc, 3), (init) => {
          const message = create(desc, init);
          const bytes = toBinary(desc, message);
          const decoded = fromBinary(desc, bytes);
          assert.ok(equals(desc, message, decoded), `${desc.typeName} changed in a round trip`);
          // Encoding is deterministic: re-encoding the decoded message gives the same bytes.
          assert.deepEqual(toBinary(desc, decoded), bytes);
        }),
        { numRuns: 40 },
      );
    });
  }

  it("Any with a bare type URL round-trips and unpacks through the registry", () => {
    fc.assert(
      fc.property(messageInit(TaskExitSchema, 2), messageInit(RuncOptionsSchema, 1), (exit, options) => {
        for (const [schema, init] of [
          [TaskExitSchema, exit],
          [RuncOptionsSchema, options],
        ] as const) {
          const message = create(schema, init);
          const any = packAny(schema, message);
          assert.equal(any.typeUrl, schema.typeName);
          const unpacked = unpackAny(any, apiRegistry);
          assert.ok(unpacked !== undefined && equals(schema, message, unpacked as typeof message));
        }
      }),
      { numRuns: 50 },
    );
  });
});
