/**
 * The commands about existing containers: list, state, ps, kill, pause, resume, stats, delete. Each is one or two Task
 * API calls on the running daemon; list, state and delete also work when no daemon runs (status "unknown", and
 * delete then only removes the bundle directory).
 *
 * containerd counterpart: `ctr task ls|ps|kill|pause|resume|metrics|delete`.
 */
import { existsSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { toJson } from "@bufbuild/protobuf";
import { anyTypeName, apiRegistry, RuncProcessDetailsSchema, unpackAny } from "../api/index.js";
import { errnoOf, internalError } from "../errors.js";
import { isValidContainerId } from "../oci/id.js";
import { type CliContext, isUnknownContainer, missingContainer, print, withContainer } from "./context.js";
import { connectDaemon } from "./daemon.js";
import { formatJson, formatTable } from "./format.js";
import { removeContainer } from "./remove.js";
import { type ContainerView, queryView, unknownView, viewOf } from "./state.js";

/** `husk list`: every container directory under the root, with its state. */
export async function listContainers(json: boolean, context: CliContext): Promise<number> {
  const { layout } = context;
  const ids = await containerIds(layout.containers);
  const connection = ids.length === 0 ? undefined : await connectDaemon(layout, { start: false });
  const views: ContainerView[] = [];
  try {
    for (const id of ids) views.push(await queryView(connection?.task, id, layout.bundle(id)));
  } finally {
    await connection?.close();
  }
  if (json) {
    await print(context.out, formatJson(views));
    return 0;
  }
  const rows = views.map((view) => [
    view.id,
    view.pid === null ? "-" : String(view.pid),
    view.status,
    view.exitStatus === null ? "-" : String(view.exitStatus),
    view.bundle,
  ]);
  await print(context.out, formatTable(["ID", "PID", "STATUS", "EXIT STATUS", "BUNDLE"], rows));
  return 0;
}

/** The ids of the container directories under `dir`, sorted; none when it does not exist. */
async function containerIds(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory() && isValidContainerId(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return [];
    throw error;
  }
}

/** `husk state ID`: the state as JSON; status "unknown" when its bundle exists but no running daemon knows it. */
export async function showState(id: string, context: CliContext): Promise<number> {
  const bundle = context.layout.bundle(id);
  const connection = await connectDaemon(context.layout, { start: false });
  let view: ContainerView;
  try {
    view =
      connection === undefined
        ? unknownView(id, bundle)
        : viewOf(await connection.task.state({ id }), bundle);
  } catch (error) {
    if (!isUnknownContainer(error, id)) throw error;
    view = unknownView(id, bundle);
  } finally {
    await connection?.close();
  }
  if (view.status === "unknown" && !existsSync(bundle)) throw missingContainer(context, id);
  await print(context.out, formatJson(view));
  return 0;
}

/** `husk ps ID`: the container's processes and, for execs, their exec ids. */
export async function listProcesses(id: string, json: boolean, context: CliContext): Promise<number> {
  const response = await withContainer(context, id, (task) => task.pids({ id }));
  const processes = response.processes.map((process) => {
    const details =
      process.info === undefined ? undefined : unpackAny(process.info, RuncProcessDetailsSchema);
    const execId = details?.execId ?? "";
    return { pid: process.pid, execId: execId === "" ? null : execId };
  });
  if (json) {
    await print(context.out, formatJson(processes));
  } else {
    const rows = processes.map((process) => [String(process.pid), process.execId ?? "-"]);
    await print(context.out, formatTable(["PID", "EXEC ID"], rows));
  }
  return 0;
}

/** `husk kill ID [SIGNAL] [--all]`. */
export async function killContainer(
  id: string,
  signal: number,
  all: boolean,
  context: CliContext,
): Promise<number> {
  await withContainer(context, id, (task) => task.kill({ id, signal, all }));
  return 0;
}

/** `husk pause ID`. */
export async function pauseContainer(id: string, context: CliContext): Promise<number> {
  await withContainer(context, id, (task) => task.pause({ id }));
  return 0;
}

/** `husk resume ID`. */
export async function resumeContainer(id: string, context: CliContext): Promise<number> {
  await withContainer(context, id, (task) => task.resume({ id }));
  return 0;
}

/** `husk stats ID`: the cgroup metrics (v1 or v2, whichever the host has) as protobuf JSON. */
export async function showStats(id: string, context: CliContext): Promise<number> {
  const response = await withContainer(context, id, (task) => task.stats({ id }));
  const any = response.stats;
  if (any === undefined) throw internalError(`the husk daemon sent no stats for container "${id}"`);
  const schema = apiRegistry.getMessage(anyTypeName(any));
  const message = unpackAny(any, apiRegistry);
  if (schema === undefined || message === undefined) {
    throw internalError(`the husk daemon sent stats of unknown type "${any.typeUrl}"`);
  }
  await print(context.out, formatJson(toJson(schema, message, { registry: apiRegistry })));
  return 0;
}

/** `husk delete [-f] ID`: deletes the container and always removes its bundle directory; then Shutdown. */
export async function deleteContainer(id: string, force: boolean, context: CliContext): Promise<number> {
  const { layout } = context;
  const connection = await connectDaemon(layout, { start: false });
  if (connection === undefined) {
    // No daemon: nothing runs any more; only the directory is left to remove.
    if (!existsSync(layout.bundle(id))) throw missingContainer(context, id);
    await rm(layout.bundle(id), { recursive: true, force: true });
    return 0;
  }
  try {
    const view = await queryView(connection.task, id, layout.bundle(id));
    if (view.status === "unknown" && !existsSync(layout.bundle(id))) throw missingContainer(context, id);
    await removeContainer(connection.task, layout, id, { force });
  } finally {
    await connection.close();
  }
  return 0;
}
