import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import { stdioFromContainerd } from "../../../src/stdio/index.js";

const owner = { containerId: "c1", namespace: "default" };

describe("containerd stdio strings", () => {
  it("reads plain paths and fifo:// as FIFOs, and empty strings as /dev/null", () => {
    assert.deepEqual(
      stdioFromContainerd({ stdin: "/f/in", stdout: "fifo:///f/out", stderr: "", terminal: false }, owner),
      {
        stdin: { kind: "fifo", path: "/f/in" },
        stdout: { kind: "fifo", path: "/f/out" },
        stderr: { kind: "null" },
        terminal: false,
      },
    );
    assert.deepEqual(stdioFromContainerd({ stdin: "", stdout: "", stderr: "", terminal: true }, owner), {
      stdin: { kind: "null" },
      terminal: true,
    });
  });

  it("sends both streams to one file for file://", () => {
    const spec = stdioFromContainerd(
      { stdin: "", stdout: "file:///var/log/c1.log", stderr: "", terminal: false },
      owner,
    );
    assert.deepEqual(spec.stdout, { kind: "file", path: "/var/log/c1.log" });
    assert.deepEqual(spec.stderr, { kind: "file", path: "/var/log/c1.log" });
  });

  it("starts a binary logger for binary:// with its query as arguments and only the container env", () => {
    const spec = stdioFromContainerd(
      {
        stdin: "",
        stdout: "binary:///usr/bin/logger?level=info&tag=x",
        stderr: "binary:///usr/bin/logger",
        terminal: false,
      },
      owner,
    );
    assert.deepEqual(spec.logger, {
      path: "/usr/bin/logger",
      args: ["level", "info", "tag", "x"],
      env: { CONTAINER_ID: "c1", CONTAINER_NAMESPACE: "default" },
    });
  });

  it("rejects unknown schemes and relative paths with InvalidArgument", () => {
    for (const stdout of ["http://example/x", "relative/path", "binary://"]) {
      assert.throws(
        () => stdioFromContainerd({ stdin: "", stdout, stderr: "", terminal: false }, owner),
        (e: unknown) => isHuskError(e) && e.code === Code.InvalidArgument,
        stdout,
      );
    }
  });
});
