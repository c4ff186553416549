import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  parseCgroupMounts,
  parseKeyValues,
  parseNestedKeyed,
  parseProcCgroup,
  parseUint64,
  parseUintList,
  UINT64_MAX,
} from "../../../src/cgroups/parse.js";
import { V1_MOUNTINFO, V1_PROC_CGROUP } from "./fixtures-v1.js";

describe("parseProcCgroup", () => {
  it("keeps each v1 controller's own path and the unified line apart", () => {
    const proc = parseProcCgroup(V1_PROC_CGROUP);
    assert.equal(proc.v1.get("memory"), "/process_api/a03293d08c3d9adb3ca9f5e494fd4171/f1");
    assert.equal(proc.v1.get("cpu"), "/f1");
    assert.equal(proc.v1.get("pids"), "/f1");
    assert.equal(proc.v1.get("name=systemd"), "/f1");
    assert.equal(proc.unified, "/f1");
  });

  it("splits combined controllers and reads a pure v2 file", () => {
    const proc = parseProcCgroup("4:cpu,cpuacct:/a/b\n3:net_cls,net_prio:/n\n");
    assert.equal(proc.v1.get("cpu"), "/a/b");
    assert.equal(proc.v1.get("cpuacct"), "/a/b");
    assert.equal(proc.v1.get("net_prio"), "/n");
    assert.equal(proc.unified, undefined);
    const v2 = parseProcCgroup("0::/system.slice/x.scope\n");
    assert.equal(v2.v1.size, 0);
    assert.equal(v2.unified, "/system.slice/x.scope");
  });
});

describe("parseCgroupMounts", () => {
  it("finds v1 hierarchies with their controllers and the cgroup2 mount", () => {
    const mounts = parseCgroupMounts(V1_MOUNTINFO);
    assert.equal(mounts.length, 10);
    const memory = mounts.find((m) => m.controllers.includes("memory"));
    assert.deepEqual(memory, {
      fsType: "cgroup",
      mountPoint: "/sys/fs/cgroup/memory",
      root: "/",
      controllers: ["memory"],
    });
    assert.deepEqual(
      mounts.find((m) => m.fsType === "cgroup2"),
      { fsType: "cgroup2", mountPoint: "/sys/fs/cgroup/unified", root: "/", controllers: [] },
    );
    assert.deepEqual(mounts.find((m) => m.mountPoint === "/sys/fs/cgroup/systemd")?.controllers, [
      "name=systemd",
    ]);
  });

  it("handles optional fields, combined controllers, escapes and a non-root mount root", () => {
    const mounts = parseCgroupMounts(
      "50 30 0:40 /kubepods/pod1 /sys/fs/cgroup/cpu\\054cpuacct rw,nosuid shared:7 master:3 - cgroup cgroup rw,cpu,cpuacct,release_agent=/x\n",
    );
    assert.deepEqual(mounts, [
      {
        fsType: "cgroup",
        mountPoint: "/sys/fs/cgroup/cpu,cpuacct",
        root: "/kubepods/pod1",
        controllers: ["cpu", "cpuacct"],
      },
    ]);
  });
});

describe("value parsers", () => {
  it("parses counters, max and garbage", () => {
    assert.equal(parseUint64("9223372036854771712\n"), 9223372036854771712n);
    assert.equal(parseUint64("max"), UINT64_MAX);
    assert.equal(parseUint64("max", 0n), 0n);
    assert.equal(parseUint64("-1"), 0n);
    assert.equal(parseUint64(""), 0n);
    assert.equal(parseUint64(undefined), 0n);
    assert.equal(parseUint64("99999999999999999999999"), UINT64_MAX);
  });

  it("parses flat keyed files, lists and nested keyed lines", () => {
    assert.deepEqual(
      parseKeyValues("user 4\nsystem 9\n\nbroken\n"),
      new Map([
        ["user", 4n],
        ["system", 9n],
      ]),
    );
    assert.deepEqual(parseUintList("38287034 105533037 \n"), [38287034n, 105533037n]);
    const [line] = parseNestedKeyed("254:0 rbytes=4096 wbytes=8192 junk\n");
    assert.equal(line?.name, "254:0");
    assert.equal(line.values.get("rbytes"), "4096");
    assert.equal(line.values.has("junk"), false);
  });
});
