import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code } from "../../../src/errors.js";
import {
  classifyRuntimeMessage,
  codeForRuntimeError,
  RUNTIME_ERROR_RULES,
  type RuntimeErrorKind,
  type RuntimeOperation,
  runtimeError,
  runtimeErrorDetails,
} from "../../../src/oci/runtime-error.js";

/**
 * Real messages printed by runc 1.1.5 and crun 1.8.1 on this project's machine (process-model §2.4,
 * §2.5, §2.8, §3.4 and our own runs), with the kind and, for the operation that produced them, the code.
 */
const CASES: readonly {
  runtime: string;
  op: RuntimeOperation;
  message: string;
  kind: RuntimeErrorKind;
  code: number;
}[] = [
  // Already exists.
  {
    runtime: "runc",
    op: "create",
    message: "runc create failed: container with given ID already exists",
    kind: "already-exists",
    code: Code.AlreadyExists,
  },
  {
    runtime: "crun",
    op: "create",
    message: "container `c1` already exists",
    kind: "already-exists",
    code: Code.AlreadyExists,
  },
  // Missing container.
  {
    runtime: "runc",
    op: "state",
    message: "container does not exist",
    kind: "container-not-found",
    code: Code.NotFound,
  },
  {
    runtime: "runc",
    op: "delete",
    message: "container does not exist",
    kind: "container-not-found",
    code: Code.NotFound,
  },
  {
    runtime: "runc",
    op: "kill",
    message: "container does not exist",
    kind: "container-not-found",
    code: Code.NotFound,
  },
  {
    runtime: "runc",
    op: "exec",
    message: "exec failed: container does not exist",
    kind: "container-not-found",
    code: Code.NotFound,
  },
  {
    runtime: "crun",
    op: "kill",
    message: "error opening file `/run/crun/c1/status`: No such file or directory",
    kind: "container-not-found",
    code: Code.NotFound,
  },
  {
    runtime: "crun",
    op: "state",
    message: "error opening file `/tmp/ocix/croot/c1/status`: No such file or directory",
    kind: "container-not-found",
    code: Code.NotFound,
  },
  {
    runtime: "crun",
    op: "delete",
    message: "cannot open directory '/run/crun/c1': No such file or directory",
    kind: "container-not-found",
    code: Code.NotFound,
  },
  {
    runtime: "crun≥1.22",
    op: "delete",
    message:
      "container `c1` does not exist: error opening file `/run/crun/c1/status`: No such file or directory",
    kind: "container-not-found",
    code: Code.NotFound,
  },
  // The process already finished (kill).
  { runtime: "runc", op: "kill", message: "container not running", kind: "not-running", code: Code.NotFound },
  {
    runtime: "crun",
    op: "kill",
    message: "kill container: No such process",
    kind: "not-running",
    code: Code.NotFound,
  },
  {
    runtime: "crun",
    op: "kill",
    message: "open pidfd: No such process",
    kind: "not-running",
    code: Code.NotFound,
  },
  {
    runtime: "go",
    op: "kill",
    message: "os: process already finished",
    kind: "not-running",
    code: Code.NotFound,
  },
  {
    runtime: "crun",
    op: "kill",
    message: "the container `c2` is not running",
    kind: "not-running",
    code: Code.NotFound,
  },
  // Not running, for operations where that is a state error.
  {
    runtime: "runc",
    op: "pause",
    message: "container not running",
    kind: "not-running",
    code: Code.FailedPrecondition,
  },
  {
    runtime: "runc",
    op: "update",
    message: "container not running",
    kind: "not-running",
    code: Code.FailedPrecondition,
  },
  {
    runtime: "runc",
    op: "events",
    message: "container with id c1 is not running",
    kind: "not-running",
    code: Code.FailedPrecondition,
  },
  {
    runtime: "crun",
    op: "start",
    message: "container `c2` is not running",
    kind: "not-running",
    code: Code.FailedPrecondition,
  },
  {
    runtime: "crun",
    op: "exec",
    message: "setns(pid=7655, CLONE_NEWUSER): No such process",
    kind: "not-running",
    code: Code.FailedPrecondition,
  },
  // Wrong state.
  {
    runtime: "runc",
    op: "start",
    message: "cannot start an already running container",
    kind: "wrong-state",
    code: Code.FailedPrecondition,
  },
  {
    runtime: "runc",
    op: "start",
    message: "cannot start a container that has stopped",
    kind: "wrong-state",
    code: Code.FailedPrecondition,
  },
  {
    runtime: "runc",
    op: "start",
    message: "cannot start a container in the paused state",
    kind: "wrong-state",
    code: Code.FailedPrecondition,
  },
  {
    runtime: "crun",
    op: "start",
    message: "cannot open `/run/crun/c1/exec.fifo`: No such file or directory",
    kind: "wrong-state",
    code: Code.FailedPrecondition,
  },
  {
    runtime: "runc",
    op: "delete",
    message: "cannot delete container c1 that is not stopped: running",
    kind: "wrong-state",
    code: Code.FailedPrecondition,
  },
  {
    runtime: "runc",
    op: "delete",
    message: "cannot delete container c1 that is not stopped: paused",
    kind: "wrong-state",
    code: Code.FailedPrecondition,
  },
  {
    runtime: "crun",
    op: "delete",
    message: "the container `c1` is not in `created` or `stopped` state",
    kind: "wrong-state",
    code: Code.FailedPrecondition,
  },
  {
    runtime: "runc",
    op: "exec",
    message: "exec failed: cannot exec in a stopped container",
    kind: "wrong-state",
    code: Code.FailedPrecondition,
  },
  {
    runtime: "runc",
    op: "exec",
    message: "exec failed: cannot exec in a paused container (use --ignore-paused to override)",
    kind: "wrong-state",
    code: Code.FailedPrecondition,
  },
  {
    runtime: "runc",
    op: "resume",
    message: "container not paused",
    kind: "wrong-state",
    code: Code.FailedPrecondition,
  },
  {
    runtime: "crun",
    op: "pause",
    message: "cannot pause the container without a cgroup",
    kind: "wrong-state",
    code: Code.FailedPrecondition,
  },
  {
    runtime: "crun",
    op: "ps",
    message: "the container is not using cgroups",
    kind: "wrong-state",
    code: Code.FailedPrecondition,
  },
  // The program to run is missing.
  {
    runtime: "runc",
    op: "create",
    message:
      'runc create failed: unable to start container process: exec: "/nosuch": stat /nosuch: no such file or directory',
    kind: "executable-not-found",
    code: Code.NotFound,
  },
  {
    runtime: "runc",
    op: "create",
    message:
      'runc create failed: unable to start container process: exec: "sleep": executable file not found in $PATH',
    kind: "executable-not-found",
    code: Code.NotFound,
  },
  {
    runtime: "runc",
    op: "exec",
    message:
      'exec failed: unable to start container process: exec: "/nosuch": stat /nosuch: no such file or directory',
    kind: "executable-not-found",
    code: Code.NotFound,
  },
  {
    runtime: "crun",
    op: "create",
    message: "executable file `/nosuch` not found in $PATH: No such file or directory",
    kind: "executable-not-found",
    code: Code.NotFound,
  },
  // Malformed spec or request.
  {
    runtime: "runc",
    op: "create",
    message: "runc create failed: invalid rootfs: not an absolute path, or a symlink",
    kind: "invalid-spec",
    code: Code.InvalidArgument,
  },
  {
    runtime: "runc",
    op: "create",
    message: "runc create failed: args must not be empty",
    kind: "invalid-spec",
    code: Code.InvalidArgument,
  },
  {
    runtime: "runc",
    op: "create",
    message: "runc create failed: Cwd must be an absolute path",
    kind: "invalid-spec",
    code: Code.InvalidArgument,
  },
  {
    runtime: "runc",
    op: "create",
    message:
      'runc create failed: unable to start container process: error during container init: invalid environment variable: "NOEQUALS"',
    kind: "invalid-spec",
    code: Code.InvalidArgument,
  },
  {
    runtime: "runc",
    op: "create",
    message: 'runc create failed: namespace {"bogus" ""} does not exist',
    kind: "invalid-spec",
    code: Code.InvalidArgument,
  },
  {
    runtime: "runc",
    op: "create",
    message: "runc create failed: invalid container ID format",
    kind: "invalid-spec",
    code: Code.InvalidArgument,
  },
  {
    runtime: "runc",
    op: "create",
    message: "runc create failed: JSON specification file config.json not found",
    kind: "invalid-spec",
    code: Code.InvalidArgument,
  },
  {
    runtime: "runc",
    op: "update",
    message: "json: cannot unmarshal string into Go struct field LinuxMemory.memory.limit of type int64",
    kind: "invalid-spec",
    code: Code.InvalidArgument,
  },
  {
    runtime: "crun",
    op: "create",
    message: "invalid namespace type: `bogus`",
    kind: "invalid-spec",
    code: Code.InvalidArgument,
  },
  {
    runtime: "crun",
    op: "create",
    message: "error loading config.json",
    kind: "invalid-spec",
    code: Code.InvalidArgument,
  },
  {
    runtime: "crun",
    op: "create",
    message: "cannot create state directory for `bad/id`",
    kind: "invalid-spec",
    code: Code.InvalidArgument,
  },
  // Unsupported.
  {
    runtime: "crun",
    op: "events",
    message: "unknown command events",
    kind: "unsupported",
    code: Code.Unimplemented,
  },
  // Everything else.
  {
    runtime: "runc",
    op: "create",
    message: 'runc create failed: unable to start container process: exec: "/etc": permission denied',
    kind: "unknown",
    code: Code.Unknown,
  },
  { runtime: "runc", op: "start", message: "exit status 1", kind: "unknown", code: Code.Unknown },
];

describe("runtime error classification", () => {
  for (const c of CASES) {
    it(`${c.runtime} ${c.op}: ${c.message}`, () => {
      assert.equal(classifyRuntimeMessage(c.message), c.kind);
      assert.equal(codeForRuntimeError(c.kind, c.op), c.code);
      const error = runtimeError({ runtime: c.runtime, op: c.op, id: "c1", runtimeMessage: c.message });
      assert.equal(error.code, c.code);
      assert.ok(error.message.startsWith(`${c.runtime} ${c.op} failed for container "c1": `), error.message);
      assert.ok(error.message.endsWith(c.message), error.message);
      assert.deepEqual(runtimeErrorDetails(error), {
        runtime: c.runtime,
        op: c.op,
        id: "c1",
        runtimeMessage: c.message,
        kind: c.kind,
      });
    });
  }

  it("has a case for every rule of the table", () => {
    for (const rule of RUNTIME_ERROR_RULES) {
      assert.ok(
        CASES.some((c) => rule.pattern.test(c.message) && classifyRuntimeMessage(c.message) === rule.kind),
        `no case exercises rule ${String(rule.pattern)}`,
      );
    }
  });

  it("words the two NotFound families uniformly", () => {
    const gone = runtimeError({
      runtime: "crun",
      op: "kill",
      id: "c1",
      runtimeMessage: "open pidfd: No such process",
    });
    assert.equal(
      gone.message,
      'crun kill failed for container "c1": process already finished: open pidfd: No such process',
    );
    const missing = runtimeError({
      runtime: "crun",
      op: "delete",
      id: "c1",
      runtimeMessage: "cannot open directory '/run/crun/c1': No such file or directory",
    });
    assert.equal(
      missing.message,
      "crun delete failed for container \"c1\": container does not exist: cannot open directory '/run/crun/c1': No such file or directory",
    );
    const runc = runtimeError({
      runtime: "runc",
      op: "kill",
      id: "c1",
      runtimeMessage: "container does not exist",
    });
    assert.equal(runc.message, 'runc kill failed for container "c1": container does not exist');
  });

  it("leaves the subject out when there is no container id", () => {
    const error = runtimeError({ runtime: "runc", op: "list", id: undefined, runtimeMessage: "boom" });
    assert.equal(error.message, "runc list failed: boom");
    assert.equal(runtimeErrorDetails(new Error("x")), undefined);
  });
});
