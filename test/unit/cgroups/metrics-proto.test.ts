/**
 * Our plain metrics types must be exactly what protobuf-es generated for containerd's cgroups
 * Metrics messages: same property names and nesting, bigint for uint64, number for uint32, so the shim
 * passes them to create() unchanged.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { create, type DescMessage, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import type { MetricsV1, MetricsV2 } from "../../../src/cgroups/metrics.js";
import { readStatsV1 } from "../../../src/cgroups/v1.js";
import { readStatsV2 } from "../../../src/cgroups/v2.js";
import { MetricsSchema as MetricsV1Schema } from "../../../src/gen/cgroups/v1/metrics_pb.js";
import { MetricsSchema as MetricsV2Schema } from "../../../src/gen/cgroups/v2/metrics_pb.js";
import { V1_FILES } from "./fixtures-v1.js";
import { V2_FILES } from "./fixtures-v2.js";

const dir = mkdtempSync(join(tmpdir(), "husk-metrics-proto-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeFiles(target: string, files: Readonly<Record<string, string>>): string {
  mkdirSync(target, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(target, name), content);
  return target;
}

async function fixtureV1(): Promise<MetricsV1> {
  const dirs = new Map<string, string>();
  for (const [controller, files] of Object.entries(V1_FILES))
    dirs.set(controller, writeFiles(join(dir, "v1", controller), files));
  dirs.set(
    "blkio",
    writeFiles(join(dir, "v1", "blkio-cfq"), {
      "blkio.io_serviced_recursive": "8:0 Read 3\n",
      "blkio.io_service_bytes_recursive": "8:0 Read 12288\n",
    }),
  );
  dirs.set("hugetlb", writeFiles(join(dir, "v1", "hugetlb"), { "hugetlb.2MB.usage_in_bytes": "2097152\n" }));
  dirs.set(
    "rdma",
    writeFiles(join(dir, "v1", "rdma"), { "rdma.current": "mlx4_0 hca_handle=1 hca_object=2\n" }),
  );
  return readStatsV1(dirs, () => Promise.resolve("/dev/sda"));
}

// Compile-time: our types are valid init shapes for the generated schemas.
const acceptsV1 = (metrics: MetricsV1): MessageInitShape<typeof MetricsV1Schema> => metrics;
const acceptsV2 = (metrics: MetricsV2): MessageInitShape<typeof MetricsV2Schema> => metrics;

/**
 * Checks, through the schema's reflection, that `value` has exactly the schema's fields (by local
 * name) with the right JS types, recursively. Returns the paths that differ.
 */
function shapeDifferences(schema: DescMessage, value: unknown, path = "$"): string[] {
  if (typeof value !== "object" || value === null) return [`${path}: not an object`];
  const record = value as Record<string, unknown>;
  const problems: string[] = [];
  const names = new Set(schema.fields.map((f) => f.localName));
  for (const key of Object.keys(record))
    if (!names.has(key)) problems.push(`${path}.${key}: not in ${schema.typeName}`);
  for (const field of schema.fields) {
    const at = `${path}.${field.localName}`;
    const fieldValue = record[field.localName];
    if (fieldValue === undefined) {
      problems.push(`${at}: missing`);
      continue;
    }
    const checkScalar = (v: unknown, p: string, scalar: number): void => {
      // ScalarType: 4 UINT64, 13 UINT32, 9 STRING.
      const expected = scalar === 4 ? "bigint" : scalar === 9 ? "string" : "number";
      if (typeof v !== expected) problems.push(`${p}: ${typeof v}, expected ${expected}`);
    };
    switch (field.fieldKind) {
      case "scalar":
        checkScalar(fieldValue, at, field.scalar);
        break;
      case "message":
        problems.push(...shapeDifferences(field.message, fieldValue, at));
        break;
      case "list":
        if (!Array.isArray(fieldValue)) {
          problems.push(`${at}: not an array`);
        } else if (field.listKind === "message") {
          fieldValue.forEach((item, i) => {
            problems.push(...shapeDifferences(field.message, item, `${at}[${i}]`));
          });
        } else if (field.listKind === "scalar") {
          fieldValue.forEach((item, i) => {
            checkScalar(item, `${at}[${i}]`, field.scalar);
          });
        }
        break;
      default:
        problems.push(`${at}: unexpected field kind ${field.fieldKind}`);
    }
  }
  return problems;
}

describe("metrics types against the generated protobuf schemas", () => {
  it("v1: every field present with the right name and type, and a binary round trip keeps values", async () => {
    const metrics = await fixtureV1();
    assert.deepEqual(shapeDifferences(MetricsV1Schema, metrics), []);
    const message = create(MetricsV1Schema, acceptsV1(metrics));
    const decoded = fromBinary(MetricsV1Schema, toBinary(MetricsV1Schema, message));
    const memory = decoded.memory;
    assert.ok(memory);
    assert.equal(memory.usage?.limit, 33554432n);
    assert.equal(memory.swap?.limit, 9223372036854771712n);
    assert.equal(memory.totalRss, metrics.memory.totalRss);
    assert.deepEqual(decoded.cpu?.usage?.perCpu, [...metrics.cpu.usage.perCpu]);
    assert.equal(decoded.pids?.limit, 100n);
    assert.equal(decoded.blkio?.ioServicedRecursive[0]?.device, "/dev/sda");
    assert.equal(decoded.hugetlb[0]?.pagesize, "2MB");
    assert.equal(decoded.rdma?.current[0]?.hcaObjects, 2);
  });

  it("v2: every field present with the right name and type, and a binary round trip keeps values", async () => {
    const metrics = await readStatsV2(writeFiles(join(dir, "v2"), V2_FILES));
    assert.deepEqual(shapeDifferences(MetricsV2Schema, metrics), []);
    const decoded = fromBinary(
      MetricsV2Schema,
      toBinary(MetricsV2Schema, create(MetricsV2Schema, acceptsV2(metrics))),
    );
    const memory = decoded.memory;
    assert.ok(memory);
    assert.equal(memory.usageLimit, 16777216n);
    assert.equal(memory.swapLimit, (1n << 64n) - 1n);
    assert.equal(decoded.memoryEvents?.oomKill, 1n);
    assert.equal(decoded.io?.usage[1]?.minor, 16n);
    assert.equal(decoded.cpu?.throttledUsec, 3000n);
  });

  it("the shape check itself notices a wrong name and a wrong type", () => {
    const problems = shapeDifferences(MetricsV2Schema.fields[0]?.message ?? MetricsV2Schema, {
      current: 1,
      limt: 2n,
    });
    assert.ok(problems.some((p) => p.includes("current: number, expected bigint")));
    assert.ok(problems.some((p) => p.includes("limt: not in")));
    assert.ok(problems.some((p) => p.includes("limit: missing")));
  });
});
