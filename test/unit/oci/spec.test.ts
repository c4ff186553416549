import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_PATH_ENV,
  defaultSpec,
  resourcesFromLimits,
  writeBundle,
} from "../../../src/oci/spec.js";

const dir = mkdtempSync(join(tmpdir(), "husk-oci-spec-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function isCode(code: number) {
  return (error: unknown) => isHuskError(error) && error.code === code;
}

describe("defaultSpec", () => {
  it("matches the shape runc spec produces, with our defaults", () => {
    const spec = defaultSpec({ rootfs: "/rootfs", args: ["sh"] });
    assert.equal(spec.ociVersion, "1.0.2-dev");
    assert.deepEqual(spec.root, { path: "/rootfs", readonly: false });
    assert.equal(spec.hostname, "husk");
    const process = spec.process;
    assert.deepEqual(process.args, ["sh"]);
    assert.deepEqual(process.env, [DEFAULT_PATH_ENV]);
    assert.equal(process.cwd, "/");
    assert.equal(process.terminal, false);
    assert.deepEqual(process.user, { uid: 0, gid: 0 });
    assert.equal(process.noNewPrivileges, true);
    assert.deepEqual(process.rlimits, [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }]);
    assert.deepEqual(process.capabilities, {
      bounding: DEFAULT_CAPABILITIES,
      effective: DEFAULT_CAPABILITIES,
      permitted: DEFAULT_CAPABILITIES,
    });
    assert.deepEqual(
      spec.mounts.map((m) => [m.destination, m.type]),
      [
        ["/proc", "proc"],
        ["/dev", "tmpfs"],
        ["/dev/pts", "devpts"],
        ["/dev/shm", "tmpfs"],
        ["/dev/mqueue", "mqueue"],
        ["/sys", "sysfs"],
        ["/sys/fs/cgroup", "cgroup"],
      ],
    );
    const linux = spec.linux;
    assert.deepEqual(
      linux.namespaces?.map((n) => n.type),
      ["pid", "ipc", "uts", "mount", "network"],
    );
    assert.ok(linux.maskedPaths?.includes("/proc/kcore"));
    assert.ok(linux.readonlyPaths?.includes("/proc/sys"));
    assert.deepEqual(linux.resources, { devices: [{ allow: false, access: "rwm" }] });
    assert.equal(linux.cgroupsPath, undefined);
    assert.equal(spec.annotations, undefined);
  });

  it("applies every option", () => {
    const spec = defaultSpec({
      rootfs: "rootfs",
      args: ["/bin/app", "--flag"],
      env: ["A=1", "B="],
      cwd: "/work",
      terminal: true,
      user: { uid: 1000, gid: 1000, additionalGids: [5] },
      hostname: "box",
      readonlyRootfs: true,
      annotations: { "org.example/a": "b" },
      limits: { memoryBytes: 16 * 1024 * 1024, pidsLimit: 64, cpuShares: 512, cpuQuotaUs: 50_000 },
      hostNetwork: true,
      cgroupsPath: "/husk/c1",
      capabilities: ["CAP_KILL"],
      extraMounts: [{ destination: "/data", type: "bind", source: "/srv", options: ["rbind", "ro"] }],
      noNewPrivileges: false,
    });
    assert.deepEqual(spec.process.env, ["A=1", "B="]);
    assert.equal(spec.process.cwd, "/work");
    assert.equal(spec.process.terminal, true);
    assert.deepEqual(spec.process.user, { uid: 1000, gid: 1000, additionalGids: [5] });
    assert.equal(spec.process.noNewPrivileges, false);
    assert.deepEqual(spec.process.capabilities?.bounding, ["CAP_KILL"]);
    assert.equal(spec.hostname, "box");
    assert.deepEqual(spec.root, { path: "rootfs", readonly: true });
    assert.deepEqual(spec.annotations, { "org.example/a": "b" });
    assert.equal(spec.linux.cgroupsPath, "/husk/c1");
    assert.ok(!spec.linux.namespaces?.some((n) => n.type === "network"));
    assert.deepEqual(spec.linux.resources, {
      devices: [{ allow: false, access: "rwm" }],
      memory: { limit: 16777216, swap: 16777216 },
      pids: { limit: 64 },
      cpu: { shares: 512, quota: 50000, period: 100000 },
    });
    assert.equal(spec.mounts.at(-1)?.destination, "/data");
  });

  it("sets TERM only for terminals when env is defaulted", () => {
    assert.deepEqual(defaultSpec({ rootfs: "/r", args: ["sh"], terminal: true }).process.env, [
      DEFAULT_PATH_ENV,
      "TERM=xterm",
    ]);
  });

  it("rejects empty args, bad env entries, relative cwd, bad users and limits", () => {
    assert.throws(() => defaultSpec({ rootfs: "/r", args: [] }), isCode(Code.InvalidArgument));
    assert.throws(() => defaultSpec({ rootfs: "/r", args: [""] }), isCode(Code.InvalidArgument));
    assert.throws(
      () => defaultSpec({ rootfs: "/r", args: ["sh"], env: ["NOEQUALS"] }),
      /env entry "NOEQUALS" is invalid/,
    );
    assert.throws(
      () => defaultSpec({ rootfs: "/r", args: ["sh"], env: ["=x"] }),
      isCode(Code.InvalidArgument),
    );
    assert.throws(
      () => defaultSpec({ rootfs: "/r", args: ["sh"], cwd: "work" }),
      isCode(Code.InvalidArgument),
    );
    assert.throws(
      () => defaultSpec({ rootfs: "/r", args: ["sh"], user: { uid: -1, gid: 0 } }),
      isCode(Code.InvalidArgument),
    );
    assert.throws(() => defaultSpec({ rootfs: "", args: ["sh"] }), isCode(Code.InvalidArgument));
    assert.throws(() => resourcesFromLimits({ memoryBytes: 0 }), isCode(Code.InvalidArgument));
    assert.throws(() => resourcesFromLimits({ pidsLimit: 1.5 }), isCode(Code.InvalidArgument));
    assert.throws(
      () => defaultSpec({ rootfs: "/r", args: ["sh"], extraMounts: [{ destination: "rel" }] }),
      isCode(Code.InvalidArgument),
    );
  });
});

describe("writeBundle", () => {
  it("writes config.json next to a rootfs used in place", async () => {
    const rootfs = join(dir, "rootfs-abs");
    mkdirSync(rootfs);
    const bundleDir = join(dir, "bundle-a", "nested");
    const bundle = await writeBundle(bundleDir, { rootfs, args: ["sh"] });
    assert.equal(bundle.dir, bundleDir);
    assert.equal(bundle.rootfs, rootfs);
    assert.equal(bundle.configPath, join(bundleDir, "config.json"));
    const written = JSON.parse(readFileSync(bundle.configPath, "utf8")) as { root: { path: string } };
    assert.deepEqual(written, JSON.parse(JSON.stringify(bundle.spec)));
    assert.equal(written.root.path, rootfs);
    assert.equal(statSync(bundle.configPath).mode & 0o777, 0o644);
  });

  it("resolves a relative rootfs against the bundle directory and keeps it relative in the spec", async () => {
    const bundleDir = join(dir, "bundle-b");
    mkdirSync(join(bundleDir, "rootfs"), { recursive: true });
    const bundle = await writeBundle(bundleDir, { rootfs: "rootfs", args: ["sh"] });
    assert.equal(bundle.rootfs, join(bundleDir, "rootfs"));
    assert.equal(bundle.spec.root.path, "rootfs");
  });

  it("refuses a missing rootfs (NotFound) and a file as rootfs (InvalidArgument)", async () => {
    const missing = join(dir, "nope");
    await assert.rejects(
      writeBundle(join(dir, "bundle-c"), { rootfs: missing, args: ["sh"] }),
      (e: unknown) =>
        isHuskError(e) && e.code === Code.NotFound && e.message === `rootfs "${missing}" does not exist`,
    );
    const file = join(dir, "file");
    writeFileSync(file, "");
    await assert.rejects(
      writeBundle(join(dir, "bundle-d"), { rootfs: file, args: ["sh"] }),
      isCode(Code.InvalidArgument),
    );
  });
});
