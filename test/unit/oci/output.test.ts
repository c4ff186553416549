import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import { parsePs, parseState, parseStateList, parseStats, quoteIntegers } from "../../../src/oci/output.js";

// runc 1.1.5: two-space JSON, no trailing newline (observed).
const RUNC_STATE = `{
  "ociVersion": "1.0.2-dev",
  "id": "x1",
  "pid": 6868,
  "status": "running",
  "bundle": "/tmp/ocix/b",
  "rootfs": "/tmp/ocix/b/rootfs",
  "created": "2026-11-30T03:18:41.270094003Z",
  "owner": "",
  "annotations": {"org.example/k": "v"}
}`;

// crun 1.8.1: four-space JSON followed by two newlines, extra keys (observed).
const CRUN_STATE = `{
    "ociVersion": "1.0.0",
    "id": "c1",
    "pid": 7655,
    "status": "created",
    "bundle": "/tmp/ocix/b",
    "rootfs": "rootfs",
    "created": "2026-11-30T03:19:02.395420Z",
    "systemd-scope": "",
    "owner": "root"
}

`;

describe("parseState", () => {
  it("reads runc's and crun's state output", () => {
    const runc = parseState(RUNC_STATE);
    assert.equal(runc.id, "x1");
    assert.equal(runc.pid, 6868);
    assert.equal(runc.status, "running");
    assert.equal(runc.bundle, "/tmp/ocix/b");
    assert.equal(runc.created?.toISOString(), "2026-11-30T03:18:41.270Z");
    assert.deepEqual(runc.annotations, { "org.example/k": "v" });
    const crun = parseState(CRUN_STATE);
    assert.deepEqual(
      { id: crun.id, pid: crun.pid, status: crun.status, annotations: crun.annotations },
      { id: "c1", pid: 7655, status: "created", annotations: undefined },
    );
  });

  it("is lenient about pid, status and created but requires an id", () => {
    const state = parseState('{"id":"z","pid":0,"status":"weird","created":"not a date"}');
    assert.deepEqual(state, { id: "z", pid: 0, status: "unknown", bundle: "" });
    assert.throws(
      () => parseState('{"pid":1}'),
      (e: unknown) => isHuskError(e) && e.code === Code.Unknown,
    );
    assert.throws(() => parseState("garbage"), /cannot parse state output/);
  });
});

describe("parseStateList / parsePs", () => {
  it("treats runc's null as empty", () => {
    assert.deepEqual(parseStateList("null\n"), []);
    assert.deepEqual(parseStateList(""), []);
    assert.deepEqual(parsePs("null\n"), []);
    assert.deepEqual(parsePs("[19351]\n"), [19351]);
    assert.deepEqual(parsePs("[1, 2, 3]"), [1, 2, 3]);
    assert.throws(() => parsePs('["a"]'), /not a JSON array of pids/);
  });

  it("reads runc's one-line and crun's pretty list", () => {
    const runc = parseStateList(
      '[{"ociVersion":"1.0.2-dev","id":"x1","pid":6868,"status":"running","bundle":"/b","rootfs":"/b/rootfs","created":"2026-11-30T03:18:41.270094003Z","owner":"root"}]\n',
    );
    assert.deepEqual(
      runc.map((s) => [s.id, s.pid, s.status]),
      [["x1", 6868, "running"]],
    );
    const crun = parseStateList(`[
    {
        "id": "c1",
        "pid": 7655,
        "status": "created",
        "bundle": "/tmp/ocix/b",
        "created": "2026-11-30T03:19:02.395420Z",
        "owner": "root"
    }
]
`);
    assert.deepEqual(
      crun.map((s) => [s.id, s.pid, s.status, s.bundle]),
      [["c1", 7655, "created", "/tmp/ocix/b"]],
    );
  });
});

// runc events --stats on a cgroup v1 host (shape observed; trimmed).
const RUNC_STATS =
  '{"type":"stats","id":"x1","data":{"cpu":{"usage":{"total":38168852,"percpu":[27777891,10390961],"percpu_kernel":[28000000,4000000],"percpu_user":[4000000,4000000],"kernel":30000000,"user":0},"throttling":{}},' +
  '"memory":{"cache":589824,"usage":{"limit":9223372036854771712,"usage":1241088,"max":2555904,"failcnt":0},"swap":{"limit":9223372036854771712,"usage":1241088,"max":2555904,"failcnt":0},"kernel":{"usage":253952},"kernelTCP":{},"raw":{"total_rss":102400,"hierarchical_memory_limit":9223372036854771712}},' +
  '"pids":{"current":1,"limit":100},"blkio":{},"hugetlb":{"2MB":{"usage":0,"max":0,"failcnt":0}},"intel_rdt":{},"network_interfaces":null}}\n';

describe("parseStats", () => {
  it("keeps 64-bit counters exact and fills absent ones with 0", () => {
    const stats = parseStats(RUNC_STATS);
    assert.equal(stats.cpu.usage.total, 38168852n);
    assert.deepEqual(stats.cpu.usage.perCpu, [27777891n, 10390961n]);
    assert.equal(stats.cpu.usage.kernel, 30000000n);
    assert.equal(stats.cpu.throttling.periods, 0n);
    assert.equal(stats.memory.usage.limit, 9223372036854771712n);
    assert.equal(stats.memory.usage.usage, 1241088n);
    assert.equal(stats.memory.kernel.usage, 253952n);
    assert.equal(stats.memory.kernelTcp.usage, 0n);
    assert.equal(stats.memory.raw.hierarchical_memory_limit, 9223372036854771712n);
    assert.deepEqual(stats.pids, { current: 1n, limit: 100n });
    assert.deepEqual(stats.hugetlb["2MB"], { usage: 0n, max: 0n, failcnt: 0n });
  });

  it("skips other events and rejects output without stats", () => {
    const stats = parseStats(`{"type":"oom","id":"x1"}\n${RUNC_STATS}`);
    assert.equal(stats.pids.current, 1n);
    assert.throws(() => parseStats('{"type":"stats","id":"x","data":null}\n'), /no stats/);
    assert.throws(() => parseStats(""), /no stats/);
  });

  it("quotes integers outside strings only", () => {
    assert.equal(
      quoteIntegers('{"a":12,"b":"x 34","c":[-5,1.5,2e3],"d":"q\\"7"}'),
      '{"a":"12","b":"x 34","c":["-5",1.5,2e3],"d":"q\\"7"}',
    );
  });
});
