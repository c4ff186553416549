/**
 * Bad requests get typed errors and lose nothing: a test client talks straight to the shim daemon that serves two
 * grouped containers — unknown service and method, an undecodable payload, invalid arguments, a garbage frame — and
 * both containers keep running and answering through containerd. Also checks the wire form of State for a live task
 * (`exited_at` is Go's zero time, not 1970).
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import {
  ExecProcessRequestSchema,
  GO_ZERO_TIME_SECONDS,
  KillRequestSchema,
  packJsonAny,
  StateRequestSchema,
  StateResponseSchema,
  TaskService,
  TaskStatus,
} from "../../src/api/index.js";
import { RequestSchema, ResponseSchema } from "../../src/gen/ttrpc/ttrpc_pb.js";
import {
  createTtrpcClient,
  encodeFrame,
  FrameDecoder,
  isTtrpcError,
  MessageType,
} from "../../src/ttrpc/index.js";
import { useContainerd } from "./support/fixture.js";
import { parentPid } from "./support/procfs.js";
import { selectedRuntime } from "./support/runtime.js";
import { killAndDelete, runDetached, taskRow } from "./support/tasks.js";

const runtime = selectedRuntime();
const GROUP_LABEL = "io.containerd.runc.v2.group";
const TASK = "containerd.task.v2.Task";

interface RawOutcome {
  /** The status of the first response, if one came. */
  readonly status: { readonly code: number; readonly message: string } | undefined;
  /** Whether the server closed the connection (within 1 s of its answer, or without one). */
  readonly closed: boolean;
}

/** Sends raw bytes on a fresh connection and reports what the server did with them. */
function rawCall(path: string, bytes: Uint8Array): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const decoder = new FrameDecoder();
    let status: RawOutcome["status"];
    let grace: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no answer and no close within 10 s"));
    }, 10_000);
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      clearTimeout(grace);
      socket.destroy();
      resolve({ status, closed });
    };
    socket.on("connect", () => socket.write(bytes));
    socket.on("data", (chunk: Buffer) => {
      decoder.push(chunk);
      const frame = decoder.next();
      if (frame === undefined || status !== undefined) return;
      const response = fromBinary(ResponseSchema, frame.payload);
      status = { code: response.status?.code ?? 0, message: response.status?.message ?? "" };
      grace = setTimeout(() => {
        finish(false);
      }, 1000);
    });
    socket.on("close", () => {
      finish(true);
    });
    socket.on("error", () => undefined);
  });
}

describe(`e2e ${runtime.name}: bad requests to a shared shim daemon`, () => {
  const fx = useContainerd();

  const runGrouped = (id: string, group: string): Promise<unknown> =>
    runDetached(fx.containerd, id, { runtime: runtime.name, labels: [`${GROUP_LABEL}=${group}`] });

  // husk's own guarantees: containerd's runc shim, for one, waits forever to discard a garbage frame's "payload".
  const huskOnly = runtime.flavour === "husk" ? {} : { skip: "husk's own robustness guarantees" };

  it("answers malformed and unknown requests with errors and keeps serving both containers", huskOnly, () =>
    fx.diagnose(async () => {
      const { containerd, stream } = fx;
      const group = containerd.newId("grp");
      const first = containerd.newId("keep");
      const second = containerd.newId("keep");
      await runGrouped(first, group);
      await runGrouped(second, group);
      const daemon = parentPid((await taskRow(containerd, first)).pid);
      assert.ok(daemon !== undefined && daemon > 1);
      const socket = containerd.shimSocket(group);

      const client = await createTtrpcClient(socket);
      try {
        const task = client.service(TaskService);
        const expectCode = async (call: Promise<unknown>, code: number, what: string): Promise<void> => {
          await assert.rejects(call, (error: unknown) => {
            assert.ok(isTtrpcError(error), `${what}: ${String(error)}`);
            assert.equal(error.code, code, `${what}: code of "${error.message}"`);
            return true;
          });
        };
        // Unknown service and method: Unimplemented.
        await expectCode(
          client.call("husk.nosuch.v1.Nothing", "Do", EmptySchema, {}, EmptySchema),
          12,
          "service",
        );
        await expectCode(client.call(TASK, "Bogus", EmptySchema, {}, EmptySchema), 12, "method");
        // Unknown container and exec: NotFound.
        await expectCode(task.state({ id: "nosuch" }), 5, "state of an unknown container");
        await expectCode(task.state({ id: first, execId: "nosuch" }), 5, "state of an unknown exec");
        // Invalid arguments: a signal that does not exist, an exec spec of the wrong type, no spec at all.
        await expectCode(task.kill(create(KillRequestSchema, { id: first, signal: 99 })), 3, "signal 99");
        await expectCode(
          task.exec(
            create(ExecProcessRequestSchema, {
              id: first,
              execId: "bad",
              spec: packJsonAny("not.a.Process", {}),
            }),
          ),
          3,
          "exec spec of another type",
        );
        await expectCode(
          task.exec(create(ExecProcessRequestSchema, { id: first, execId: "bad2" })),
          3,
          "no spec",
        );
        await expectCode(
          task.create({ id: "../escape", bundle: "/nonexistent" }),
          3,
          "create with an invalid id",
        );
        // The wire form of a live task's state: RUNNING, and exited_at is Go's zero time.
        const state = await task.state(create(StateRequestSchema, { id: first }));
        assert.equal(state.status, TaskStatus.RUNNING);
        assert.equal(state.exitedAt?.seconds, GO_ZERO_TIME_SECONDS);
        const encoded = toBinary(StateResponseSchema, state);
        assert.ok(
          Buffer.from(encoded).includes(
            Buffer.from("520b0880 92b8c398 feffffff 01".replaceAll(" ", ""), "hex"),
          ),
          "exited_at encodes as Go's zero time",
        );
      } finally {
        await client.close();
      }

      // An undecodable payload: Internal, and the connection keeps working.
      const badPayload = toBinary(
        RequestSchema,
        create(RequestSchema, {
          service: TASK,
          method: "State",
          payload: new Uint8Array([0xff, 0xff, 0xff]),
        }),
      );
      const undecodable = await rawCall(socket, encodeFrame(1, MessageType.Request, badPayload));
      assert.equal(
        undecodable.status?.code,
        13,
        `undecodable payload → Internal: ${JSON.stringify(undecodable)}`,
      );
      assert.equal(undecodable.closed, false, "the connection survives an undecodable payload");
      // Garbage: whatever it is answered with, that one connection is closed.
      const garbage = await rawCall(socket, Buffer.from("this is not a ttrpc frame at all, not even close"));
      assert.equal(garbage.closed, true, `garbage closes the connection: ${JSON.stringify(garbage)}`);

      // Both containers are unaffected, served by the same daemon.
      for (const id of [first, second]) {
        assert.equal(
          parentPid((await taskRow(containerd, id)).pid),
          daemon,
          `${id} still served by ${daemon}`,
        );
        const exec = await containerd.ctr([
          "tasks",
          "exec",
          "--exec-id",
          containerd.newId("ok"),
          id,
          "/bin/sh",
          "-c",
          "echo alive",
        ]);
        assert.equal(exec.status, 0);
        assert.equal(exec.stdout, "alive\n");
      }
      for (const id of [first, second]) await killAndDelete(containerd, stream, id);
    }),
  );

  it("leaves nothing behind", () => fx.containerd.assertNoLeaks());
});
