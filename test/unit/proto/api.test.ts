import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { AnySchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  anyTypeName,
  apiRegistry,
  CgroupsV1MetricsSchema,
  cgroupsV1,
  DeleteResponseSchema,
  fromTimestamp,
  GO_ZERO_TIME,
  isGoZeroTime,
  OciTypeUrl,
  PidsResponseSchema,
  packAny,
  packJsonAny,
  RuncOptionsSchema,
  RuncProcessDetailsSchema,
  StateResponseSchema,
  TaskExitSchema,
  TaskOOMSchema,
  TaskStatus,
  TaskTopic,
  topicForEvent,
  toTimestamp,
  UpdateTaskRequestSchema,
  unpackAny,
  unpackJsonAny,
} from "../../../src/api/index.js";
import { Code, isHuskError } from "../../../src/errors.js";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const ascii = (text: string): string => Buffer.from(text).toString("hex");

describe("golden bytes from the observed wire", () => {
  it("start's stdin: an empty runc Options Any is 0a1a + the bare type name (28 bytes)", () => {
    const bytes = toBinary(AnySchema, packAny(RuncOptionsSchema, create(RuncOptionsSchema)));
    assert.equal(hex(bytes), `0a1a${ascii("containerd.runc.v1.Options")}`);
    assert.equal(bytes.length, 28);
    const decoded = unpackAny(fromBinary(AnySchema, bytes), RuncOptionsSchema);
    assert.ok(decoded);
    assert.equal(decoded.binaryName, "");
  });

  it("a live process's exited_at is Go's zero time: 52 0b 08 80 92 b8 c3 98 fe ff ff ff 01", () => {
    const bytes = toBinary(
      StateResponseSchema,
      create(StateResponseSchema, { exitedAt: toTimestamp(undefined) }),
    );
    assert.equal(hex(bytes), "520b088092b8c398feffffff01");
    const decoded = fromBinary(StateResponseSchema, bytes);
    assert.equal(decoded.exitedAt?.seconds, -62135596800n);
    assert.equal(fromTimestamp(decoded.exitedAt), undefined);
  });

  it("Pids reply: ProcessInfo for init and for an exec with ProcessDetails", () => {
    const golden =
      "0a0408b39b01" +
      `0a2f089f9c011229` +
      `0a21${ascii("containerd.runc.v1.ProcessDetails")}12040a02${ascii("e2")}`;
    const reply = create(PidsResponseSchema, {
      processes: [
        { pid: 19891 },
        {
          pid: 19999,
          info: packAny(RuncProcessDetailsSchema, create(RuncProcessDetailsSchema, { execId: "e2" })),
        },
      ],
    });
    assert.equal(hex(toBinary(PidsResponseSchema, reply)), golden);
    const decoded = fromBinary(PidsResponseSchema, Buffer.from(golden, "hex"));
    const info = decoded.processes[1]?.info;
    assert.ok(info);
    const details = unpackAny(info, apiRegistry);
    assert.equal(details?.$typeName, "containerd.runc.v1.ProcessDetails");
    assert.equal(unpackAny(info, RuncProcessDetailsSchema)?.execId, "e2");
  });

  it("the delete subcommand's DeleteResponse: pid 17618, exit 137, exited_at", () => {
    const golden = "08d28901" + "108901" + "1a0b" + "0884a9b3d806" + "10ffa5f03b";
    const decoded = fromBinary(DeleteResponseSchema, Buffer.from(golden, "hex"));
    assert.equal(decoded.pid, 17618);
    assert.equal(decoded.exitStatus, 137);
    assert.equal(decoded.exitedAt?.seconds, 1796002948n);
    assert.equal(decoded.exitedAt.nanos, 125571839);
    assert.equal(hex(toBinary(DeleteResponseSchema, decoded)), golden);
  });

  it("the Status enum has containerd's numbers", () => {
    assert.deepEqual(
      [
        TaskStatus.UNKNOWN,
        TaskStatus.CREATED,
        TaskStatus.RUNNING,
        TaskStatus.STOPPED,
        TaskStatus.PAUSED,
        TaskStatus.PAUSING,
      ],
      [0, 1, 2, 3, 4, 5],
    );
  });

  it("cgroup v1 per-CPU usage is packed", () => {
    const metrics = create(CgroupsV1MetricsSchema, { cpu: { usage: { perCpu: [1n, 2n, 300n] } } });
    // cpu(3) { usage(1) { per_cpu(4) packed: 01 02 ac02 } }
    assert.equal(hex(toBinary(CgroupsV1MetricsSchema, metrics)), "1a080a0622040102ac02");
    assert.equal(cgroupsV1.CPUUsageSchema.typeName, "io.containerd.cgroups.v1.CPUUsage");
  });
});

describe("Any helpers", () => {
  it("packAny writes the bare type name; unpackAny reads it back by schema or registry", () => {
    const exit = create(TaskExitSchema, {
      containerId: "c1",
      id: "c1",
      pid: 42,
      exitStatus: 3,
      exitedAt: toTimestamp(new Date(1_000)),
    });
    const any = packAny(TaskExitSchema, exit);
    assert.equal(any.typeUrl, "containerd.events.TaskExit");
    assert.equal(unpackAny(any, TaskExitSchema)?.pid, 42);
    assert.equal(unpackAny(any, TaskOOMSchema), undefined);
    const viaRegistry = unpackAny(any, apiRegistry);
    assert.equal(viaRegistry?.$typeName, "containerd.events.TaskExit");
  });

  it("unpackAny tolerates a type.googleapis.com/ prefix and ignores unknown or empty URLs", () => {
    const any = packAny(RuncOptionsSchema, create(RuncOptionsSchema, { binaryName: "crun" }));
    const prefixed = create(AnySchema, { typeUrl: `type.googleapis.com/${any.typeUrl}`, value: any.value });
    assert.equal(anyTypeName(prefixed), "containerd.runc.v1.Options");
    assert.equal(unpackAny(prefixed, RuncOptionsSchema)?.binaryName, "crun");
    assert.equal(unpackAny(create(AnySchema, { typeUrl: "no.such.Type" }), apiRegistry), undefined);
    assert.equal(unpackAny(create(AnySchema), apiRegistry), undefined);
    // An OCI URL never resolves to a protobuf message, even though it ends in a plausible name.
    assert.equal(unpackAny(packJsonAny(OciTypeUrl.Process, {}), apiRegistry), undefined);
  });

  it("unpackAny throws InvalidArgument for bytes that do not decode", () => {
    const broken = create(AnySchema, {
      typeUrl: "containerd.runc.v1.Options",
      value: Uint8Array.of(0x32, 0x05, 0x61),
    });
    assert.throws(
      () => unpackAny(broken, RuncOptionsSchema),
      (e: unknown) =>
        isHuskError(e) && e.code === Code.InvalidArgument && e.message.includes("containerd.runc.v1.Options"),
    );
  });

  it("packJsonAny / unpackJsonAny carry OCI payloads as UTF-8 JSON", () => {
    const processSpec = { args: ["sh", "-c", "echo ü"], cwd: "/", terminal: false, user: { uid: 0, gid: 0 } };
    const any = packJsonAny(OciTypeUrl.Process, processSpec);
    assert.equal(any.typeUrl, "types.containerd.io/opencontainers/runtime-spec/1/Process");
    assert.equal(Buffer.from(any.value).toString("utf8"), JSON.stringify(processSpec));
    assert.deepEqual(unpackJsonAny(any), processSpec);
    const update = create(UpdateTaskRequestSchema, {
      id: "c1",
      resources: packJsonAny(OciTypeUrl.LinuxResources, { memory: { limit: 1 << 20 } }),
      annotations: { a: "b" },
    });
    const decoded = fromBinary(UpdateTaskRequestSchema, toBinary(UpdateTaskRequestSchema, update));
    assert.deepEqual(decoded.resources && unpackJsonAny(decoded.resources), { memory: { limit: 1 << 20 } });
    assert.deepEqual(decoded.annotations, { a: "b" });
  });

  it("unpackJsonAny and packJsonAny refuse what is not JSON", () => {
    const notJson = create(AnySchema, { typeUrl: OciTypeUrl.Spec, value: Buffer.from("{nope") });
    assert.throws(
      () => unpackJsonAny(notJson),
      (e: unknown) => isHuskError(e) && e.code === Code.InvalidArgument,
    );
    const notUtf8 = create(AnySchema, { typeUrl: OciTypeUrl.Spec, value: Uint8Array.of(0xff, 0xfe) });
    assert.throws(() => unpackJsonAny(notUtf8), /not UTF-8/);
    assert.throws(() => packJsonAny(OciTypeUrl.Spec, undefined), /not JSON-serialisable/);
  });
});

describe("timestamps", () => {
  it("GO_ZERO_TIME is 0001-01-01T00:00:00Z and frozen", () => {
    assert.equal(GO_ZERO_TIME.seconds, -62135596800n);
    assert.equal(GO_ZERO_TIME.nanos, 0);
    assert.equal(new Date(Number(GO_ZERO_TIME.seconds) * 1000).toISOString(), "0001-01-01T00:00:00.000Z");
    assert.ok(Object.isFrozen(GO_ZERO_TIME));
  });

  it("toTimestamp / fromTimestamp convert dates and treat zero time and absence as none", () => {
    const date = new Date("2026-11-30T03:14:21.123Z");
    const ts = toTimestamp(date);
    assert.deepEqual([ts.seconds, ts.nanos], [BigInt(Math.floor(date.getTime() / 1000)), 123_000_000]);
    assert.equal(fromTimestamp(ts)?.getTime(), date.getTime());
    assert.equal(toTimestamp(undefined), GO_ZERO_TIME);
    assert.equal(isGoZeroTime(undefined), true);
    assert.equal(isGoZeroTime(GO_ZERO_TIME), true);
    assert.equal(isGoZeroTime(timestampFromDate(new Date(0))), false);
    assert.equal(fromTimestamp(timestampFromDate(new Date(0)))?.getTime(), 0);
  });
});

describe("event topics", () => {
  it("maps each task event to its topic", () => {
    assert.equal(topicForEvent(TaskExitSchema), TaskTopic.Exit);
    assert.equal(topicForEvent(TaskExitSchema), "/tasks/exit");
    assert.equal(topicForEvent(TaskOOMSchema), "/tasks/oom");
    assert.equal(topicForEvent(RuncOptionsSchema), "/tasks/?");
  });
});
