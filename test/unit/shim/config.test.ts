import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import { configPathFor, DEFAULT_CONFIG, loadShimConfig, parseShimConfig } from "../../../src/shim/config.js";

const dir = mkdtempSync(join(tmpdir(), "husk-config-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("shim config", () => {
  it("prefers the explicit path, then HUSK_SHIM_CONFIG, then the default", () => {
    assert.deepEqual(configPathFor("/a.toml", { HUSK_SHIM_CONFIG: "/b.toml" }), {
      path: "/a.toml",
      required: true,
    });
    assert.deepEqual(configPathFor("", { HUSK_SHIM_CONFIG: "/b.toml" }), { path: "/b.toml", required: true });
    assert.deepEqual(configPathFor("", {}), { path: "/etc/husk/shim.toml", required: false });
  });

  it("reads every key from TOML", async () => {
    const path = join(dir, "full.toml");
    writeFileSync(
      path,
      'grouping = "namespace"\nbinary_name = "crun"\nroot = "/run/x"\nsystemd_cgroup = true\n' +
        'runtime_args = ["--cgroup-manager=disabled"]\ndebug = true\n',
    );
    assert.deepEqual(await loadShimConfig(path, {}), {
      grouping: "namespace",
      binaryName: "crun",
      root: "/run/x",
      systemdCgroup: true,
      runtimeArgs: ["--cgroup-manager=disabled"],
      debug: true,
    });
  });

  it("uses the defaults when the default file is missing, but fails for a missing named file", async () => {
    const missing = join(dir, "nope.toml");
    assert.deepEqual(await loadShimConfig("", { HUSK_SHIM_CONFIG: "" }), DEFAULT_CONFIG);
    await assert.rejects(
      loadShimConfig(missing, {}),
      (e: unknown) => isHuskError(e) && e.code === Code.NotFound,
    );
  });

  it("rejects invalid TOML, unknown keys and wrong types with InvalidArgument", async () => {
    const bad = join(dir, "bad.toml");
    writeFileSync(bad, "grouping = \n");
    await assert.rejects(
      loadShimConfig(bad, {}),
      (e: unknown) => isHuskError(e) && e.code === Code.InvalidArgument,
    );
    for (const table of [
      { grouping: "everything" },
      { groupings: "pod" },
      { debug: "yes" },
      { runtime_args: [1] },
    ]) {
      assert.throws(
        () => parseShimConfig(table, "t"),
        (e: unknown) => isHuskError(e) && e.code === Code.InvalidArgument,
        JSON.stringify(table),
      );
    }
  });
});
