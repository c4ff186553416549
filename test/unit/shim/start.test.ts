import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { groupFor, NAMESPACE_GROUP, socketPath } from "../../../src/shim/start.js";

describe("shim socket and grouping", () => {
  it("computes the socket path exactly as containerd's runc shim did (observed address)", () => {
    assert.equal(
      socketPath("/tmp/ctrd-test/containerd.sock", "speca", "t1"),
      "/run/containerd/s/fe45dd23c2e172cf9d0f46a1d16a904cc56d7a088aca9703877ef5cd2cec35be",
    );
  });

  it("groups per pod by the runc group label, then CRI's sandbox id, else the container id", () => {
    const both = { "io.containerd.runc.v2.group": "web", "io.kubernetes.cri.sandbox-id": "sb" };
    assert.equal(groupFor("pod", "c1", both), "web");
    assert.equal(groupFor("pod", "c1", { "io.kubernetes.cri.sandbox-id": "sb-1" }), "sb-1");
    assert.equal(groupFor("pod", "c1", {}), "c1");
  });

  it("ignores the annotations per container, and uses one key per namespace", () => {
    assert.equal(groupFor("container", "c1", { "io.kubernetes.cri.sandbox-id": "sb" }), "c1");
    assert.equal(groupFor("namespace", "c1", {}), NAMESPACE_GROUP);
    assert.equal(groupFor("namespace", "c2", { "io.containerd.runc.v2.group": "x" }), NAMESPACE_GROUP);
  });
});
