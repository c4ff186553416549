import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { legacyRunc, packAny, RuncOptionsSchema, RuntimeOptionsSchema } from "../../../src/api/index.js";
import { Code, isHuskError } from "../../../src/errors.js";
import { DEFAULT_CONFIG } from "../../../src/shim/config.js";
import { runtimeSelection } from "../../../src/shim/service.js";

describe("runtime selection from containerd's options", () => {
  it("defaults to runc under /run/containerd/runc/<namespace>, like containerd's runc shim", () => {
    const { runtime, record } = runtimeSelection(undefined, DEFAULT_CONFIG, "k8s.io");
    assert.equal(runtime.binary, "runc");
    assert.equal(runtime.root, "/run/containerd/runc/k8s.io");
    assert.equal(record.root, "/run/containerd/runc/k8s.io");
    assert.equal(runtime.noPivotRoot, false);
  });

  it("takes BinaryName, Root, SystemdCgroup, NoPivotRoot and NoNewKeyring from runc Options", () => {
    const options = packAny(
      RuncOptionsSchema,
      create(RuncOptionsSchema, {
        binaryName: "crun",
        root: "/run/crun-root",
        systemdCgroup: true,
        noPivotRoot: true,
        noNewKeyring: true,
      }),
    );
    const { runtime } = runtimeSelection(options, DEFAULT_CONFIG, "default");
    assert.equal(runtime.binary, "crun");
    assert.equal(runtime.root, "/run/crun-root/default");
    assert.equal(runtime.systemdCgroup, true);
    assert.equal(runtime.noPivotRoot, true);
    assert.equal(runtime.noNewKeyring, true);
  });

  it("falls back to the husk config file, and accepts the legacy runctypes options", () => {
    const config = { ...DEFAULT_CONFIG, binaryName: "runsc", root: "/run/gvisor", runtimeArgs: ["--debug"] };
    const cri = packAny(
      RuntimeOptionsSchema,
      create(RuntimeOptionsSchema, { configPath: "/etc/husk/x.toml" }),
    );
    const fromConfig = runtimeSelection(cri, config, "ns").runtime;
    assert.equal(fromConfig.binary, "runsc");
    assert.equal(fromConfig.root, "/run/gvisor/ns");
    assert.deepEqual(fromConfig.globalArgs, ["--debug"]);
    const legacy = packAny(
      legacyRunc.RuncOptionsSchema,
      create(legacyRunc.RuncOptionsSchema, { runtime: "/usr/bin/crun", runtimeRoot: "/r" }),
    );
    assert.equal(runtimeSelection(legacy, config, "ns").runtime.binary, "/usr/bin/crun");
  });

  it("rejects options of an unknown type", () => {
    assert.throws(
      () =>
        runtimeSelection(
          { $typeName: "google.protobuf.Any", typeUrl: "some.Other", value: new Uint8Array() },
          DEFAULT_CONFIG,
          "ns",
        ),
      (e: unknown) => isHuskError(e) && e.code === Code.InvalidArgument,
    );
  });
});
