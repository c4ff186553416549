/**
 * `containerd-shim-husk-v2 … -bundle DIR delete`: cleans up after a container whose daemon is gone (crashed, killed,
 * or simply done) and prints a binary `containerd.task.v2.DeleteResponse` on stdout. containerd runs it after every
 * teardown and after a shim death, under a 5 s deadline; it must be idempotent and never fail for "already clean".
 * Diagnostics go to stderr (containerd logs them as warnings).
 *
 * containerd counterpart: runtime/v2/runc/manager/manager_linux.go `Stop`.
 */
import { readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { DeleteResponseSchema } from "../gen/containerd/task/v2/shim_pb.js";
import { createOciRuntime } from "../oci/index.js";
import { unmountRecursive } from "../sys/index.js";
import { DEFAULT_RUNTIME_ROOT } from "./config.js";
import type { ShimFlags } from "./flags.js";
import { readRuntimeRecord } from "./runtime-record.js";
import { isListening } from "./start.js";

/** 128 + SIGKILL: what a container killed by cleanup exited with, as containerd's runc shim reports. */
const KILLED_STATUS = 137;

/** Does the cleanup and returns the DeleteResponse bytes; problems are written to `warn`, never thrown. */
export async function runDelete(flags: ShimFlags, warn: (line: string) => void): Promise<Uint8Array> {
  const bundle = flags.bundle !== "" ? flags.bundle : process.cwd();
  const record = await readRuntimeRecord(bundle);
  const runtime = createOciRuntime({
    binary: record?.binary ?? "runc",
    root: record?.root ?? join(DEFAULT_RUNTIME_ROOT, flags.namespace),
    ...(record === undefined ? {} : { systemdCgroup: record.systemdCgroup, globalArgs: record.globalArgs }),
  });
  try {
    await runtime.delete(flags.id, { force: true, logFile: join(bundle, "log.json") });
  } catch (error) {
    warn(
      `delete of runtime container "${flags.id}" failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  try {
    unmountRecursive(join(bundle, "rootfs"));
  } catch (error) {
    warn(`unmount of rootfs failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  await removeDeadSocket(bundle, warn);
  const pid = await readInitPid(bundle);
  return toBinary(
    DeleteResponseSchema,
    create(DeleteResponseSchema, { pid, exitStatus: KILLED_STATUS, exitedAt: timestampNow() }),
  );
}

/**
 * A daemon that was SIGKILLed leaves its socket file behind (containerd's runc shim leaves it forever). When nothing
 * listens there any more, remove it; a live daemon serving other containers of the group keeps its socket.
 */
async function removeDeadSocket(bundle: string, warn: (line: string) => void): Promise<void> {
  let path: string;
  try {
    path = (await readFile(join(bundle, "address"), "utf8")).trim().replace(/^unix:\/\//, "");
  } catch {
    return; // start never got that far
  }
  if (path === "" || (await isListening(path))) return;
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      warn(
        `cannot remove the dead shim socket ${path}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

async function readInitPid(bundle: string): Promise<number> {
  try {
    const pid = Number.parseInt((await readFile(join(bundle, "init.pid"), "utf8")).trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}
