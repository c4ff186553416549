// Does not start the reaper. Needs root (CAP_SYS_ADMIN) for mount(2).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import { mount, mountAll, mountFlags, unmountRecursive } from "../../../src/sys/index.js";
import { mountPointsUnder } from "../../../src/sys/mount.js";
import { native } from "../../../src/sys/native.js";
import { openFdCount } from "./helpers.js";

const skip = process.getuid?.() === 0 ? false : "needs root";
let scratch = "";
let fdsBefore = 0;

before(() => {
  scratch = mkdtempSync(join(tmpdir(), "husk-mount-"));
  fdsBefore = openFdCount();
});

after(() => {
  if (scratch !== "") {
    unmountRecursive(scratch);
    rmSync(scratch, { recursive: true, force: true });
  }
  assert.equal(openFdCount(), fdsBefore, "fd count after the tests equals the count before");
});

/** Mount entries (mount point → options) at or below `root`. */
function mountsUnder(root: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    const point = fields[4];
    if (point !== undefined && (point === root || point.startsWith(`${root}/`)))
      map.set(point, fields[5] ?? "");
  }
  return map;
}

function dir(name: string): string {
  const path = join(scratch, name);
  mkdirSync(path, { recursive: true });
  return path;
}

describe("mount options", () => {
  it("translates containerd's option names into flags, propagation and data", () => {
    const c = native().mountConstants;
    assert.deepEqual(mountFlags(["rbind", "ro", "nosuid", "nodev", "rprivate"]), {
      flags: c.MS_BIND | c.MS_REC | c.MS_RDONLY | c.MS_NOSUID | c.MS_NODEV,
      propagation: c.MS_PRIVATE | c.MS_REC,
      data: "",
    });
    assert.deepEqual(mountFlags(["ro", "rw", "noexec", "exec", "defaults"]), {
      flags: 0,
      propagation: 0,
      data: "",
    });
    assert.deepEqual(mountFlags(["lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "index=off"]), {
      flags: 0,
      propagation: 0,
      data: "lowerdir=/a:/b,upperdir=/u,workdir=/w,index=off",
    });
    assert.throws(
      () => mountFlags(["loop"]),
      (e: unknown) => isHuskError(e) && e.code === Code.Unimplemented,
    );
  });

  it("lists nested mount points deepest first and decodes escapes", () => {
    const info = [
      "20 1 0:1 / / rw - ext4 /dev/root rw",
      "30 20 0:2 / /x rw - tmpfs tmpfs rw",
      "31 30 0:3 / /x/a\\040b rw - tmpfs tmpfs rw",
      "32 30 0:4 / /x/a\\040b/c rw - tmpfs tmpfs rw",
      "33 30 0:5 / /x rw - tmpfs tmpfs rw",
      "34 20 0:6 / /xy rw - tmpfs tmpfs rw",
    ].join("\n");
    assert.deepEqual(mountPointsUnder("/x", info), ["/x/a b/c", "/x/a b", "/x", "/x"]);
  });
});

describe("mount", { skip }, () => {
  it("bind-mounts a directory read-only, then unmounts it", () => {
    const source = dir("bind-src");
    const target = dir("bind-dst");
    writeFileSync(join(source, "file"), "content");
    mount({ type: "bind", source, options: ["rbind", "ro"] }, target);
    try {
      assert.equal(readFileSync(join(target, "file"), "utf8"), "content");
      assert.throws(
        () => {
          writeFileSync(join(target, "other"), "x");
        },
        (e: unknown) => (e as { code?: string }).code === "EROFS",
      );
      assert.match(mountsUnder(target).get(target) ?? "", /^ro\b/);
    } finally {
      unmountRecursive(target);
    }
    assert.equal(mountsUnder(target).size, 0);
    assert.ok(!existsSync(join(target, "file")));
  });

  it("unmounts nested and stacked mounts at and below the target", () => {
    const target = dir("nested");
    mount({ type: "tmpfs", source: "tmpfs", options: ["size=1m"] }, target);
    mkdirSync(join(target, "inner dir"));
    mount({ type: "tmpfs", source: "tmpfs", options: ["nosuid", "size=1m"] }, join(target, "inner dir"));
    mount({ type: "tmpfs", source: "tmpfs", options: ["size=1m"] }, target); // stacked on top
    assert.equal(mountsUnder(target).size, 2);
    unmountRecursive(target);
    assert.equal(mountsUnder(target).size, 0);
    unmountRecursive(target); // nothing mounted: no error
    unmountRecursive(join(scratch, "missing")); // no such path: no error
  });

  it("mounts an overlay from lowerdir/upperdir/workdir", (t) => {
    if (!readFileSync("/proc/filesystems", "utf8").includes("overlay")) {
      t.skip("the kernel has no overlay filesystem");
      return;
    }
    // A tmpfs base, since the upper dir must be on a filesystem overlay accepts.
    const base = dir("overlay-base");
    mount({ type: "tmpfs", source: "tmpfs", options: ["size=4m"] }, base);
    try {
      for (const sub of ["lower", "upper", "work", "merged"]) mkdirSync(join(base, sub));
      writeFileSync(join(base, "lower", "from-lower"), "lower");
      const merged = join(base, "merged");
      mountAll(
        [
          {
            type: "overlay",
            source: "overlay",
            options: [
              `lowerdir=${join(base, "lower")}`,
              `upperdir=${join(base, "upper")}`,
              `workdir=${join(base, "work")}`,
            ],
          },
        ],
        merged,
      );
      assert.equal(readFileSync(join(merged, "from-lower"), "utf8"), "lower");
      writeFileSync(join(merged, "new"), "upper");
      assert.equal(readFileSync(join(base, "upper", "new"), "utf8"), "upper");
      assert.ok(!existsSync(join(base, "lower", "new")));
    } finally {
      unmountRecursive(base);
    }
    assert.equal(mountsUnder(base).size, 0);
  });

  it("undoes earlier mounts when a later one fails", () => {
    const target = dir("all");
    assert.throws(
      () => {
        mountAll(
          [
            { type: "tmpfs", source: "tmpfs", options: ["size=1m"] },
            { type: "husk-no-such-fs", source: "none", options: [] },
          ],
          target,
        );
      },
      (e: unknown) => isHuskError(e) && /husk-no-such-fs/.test(e.message),
    );
    assert.equal(mountsUnder(target).size, 0);
  });
});
