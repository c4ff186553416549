/**
 * `containerd.task.v2.Task` over husk's Supervisor: protobuf in, one core call, protobuf out. Everything a container
 * does lives in the core; this file only translates — stdio strings to StdioSpecs, runtime options to a runtime
 * selection, core states and exits to the wire's enums and Go-zero timestamps, core events to containerd events.
 *
 * containerd counterpart: runtime/v2/runc/task/service.go.
 */
import { stat } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import {
  anyTypeName,
  CgroupsV1MetricsSchema,
  CgroupsV2MetricsSchema,
  type CreateTaskRequest,
  legacyRunc,
  OciTypeUrl,
  packAny,
  RuncCheckpointOptionsSchema,
  RuncOptionsSchema,
  RuncProcessDetailsSchema,
  RuntimeOptionsSchema,
  TaskCreateSchema,
  TaskDeleteSchema,
  TaskExecAddedSchema,
  TaskExecStartedSchema,
  TaskExitSchema,
  TaskOOMSchema,
  TaskPausedSchema,
  TaskResumedSchema,
  type TaskService,
  TaskStartSchema,
  TaskStatus,
  TaskTopic,
  toTimestamp,
  unpackAny,
  unpackJsonAny,
} from "../api/index.js";
import type { CgroupStats } from "../cgroups/index.js";
import type { Container, LifecycleEvent, RuntimeSelection, Supervisor } from "../container/index.js";
import { invalidArgument, notFound, notImplemented } from "../errors.js";
import type { Logger } from "../log.js";
import { type LinuxResources, type Process as OciProcess, validateContainerId } from "../oci/index.js";
import type { InitStatus } from "../process/index.js";
import { type StdioSpec, stdioFromContainerd } from "../stdio/index.js";
import type { ServiceImpl } from "../ttrpc/index.js";
import { VERSION } from "../version.js";
import { DEFAULT_RUNTIME_ROOT, loadShimConfig, type ShimConfig } from "./config.js";
import type { EventPublisher } from "./publisher.js";
import { type RuntimeRecord, writeRuntimeRecord } from "./runtime-record.js";

export interface TaskServiceOptions {
  readonly supervisor: Supervisor;
  readonly namespace: string;
  /** Where events go; undefined drops them (a standalone daemon with no containerd). */
  readonly publisher: EventPublisher | undefined;
  readonly log: Logger;
  /** Called after a Shutdown that found no containers left: the daemon should stop. */
  readonly onShutdown: () => void;
}

/** What the wire reports about a process besides what the core knows: the stdio strings containerd gave. */
interface ProcessWire {
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly terminal: boolean;
}

interface ContainerWire extends ProcessWire {
  readonly rootfs: CreateTaskRequest["rootfs"];
  readonly checkpoint: string;
  readonly execs: Map<string, ProcessWire>;
}

/** Builds the Task service implementation and starts forwarding the supervisor's events. */
export function createTaskService(options: TaskServiceOptions): {
  impl: ServiceImpl<typeof TaskService>;
  stopEvents: () => void;
} {
  const { supervisor, namespace, log } = options;
  const wire = new Map<string, ContainerWire>();
  const stopEvents =
    options.publisher === undefined
      ? () => undefined
      : supervisor.subscribe(forwardTo(options.publisher, wire));

  const container = (id: string): Container => {
    const found = supervisor.find(id);
    if (found === undefined) throw notFound(`container "${id}" not created`);
    return found;
  };

  const impl: ServiceImpl<typeof TaskService> = {
    async create(request) {
      validateContainerId(request.id);
      if (!isAbsolute(request.bundle) || !(await isDirectory(request.bundle))) {
        throw notFound(`bundle "${request.bundle}" of container "${request.id}" does not exist`);
      }
      if (request.checkpoint !== "") {
        throw notImplemented(
          `container "${request.id}": restore from a checkpoint is not implemented by husk`,
        );
      }
      const config = await configFor(request.options);
      const selection = runtimeSelection(request.options, config, namespace);
      const stdio: StdioSpec = {
        ...stdioFromContainerd(request, { containerId: request.id, namespace }),
        ...ioOwner(request.options),
      };
      await writeRuntimeRecord(request.bundle, selection.record);
      wire.set(request.id, {
        stdin: request.stdin,
        stdout: request.stdout,
        stderr: request.stderr,
        terminal: request.terminal,
        rootfs: request.rootfs,
        checkpoint: request.checkpoint,
        execs: new Map(),
      });
      try {
        const created = await supervisor.create({
          id: request.id,
          bundle: request.bundle,
          stdio,
          runtime: selection.runtime,
          rootfsMounts: request.rootfs.map((mount) => ({
            type: mount.type,
            source: mount.source,
            options: mount.options,
          })),
          workDir: request.bundle,
        });
        return { pid: created.pid };
      } catch (error) {
        wire.delete(request.id);
        throw error;
      }
    },

    async start(request) {
      const target = container(request.id);
      if (request.execId === "") return { pid: await target.start() };
      return { pid: await target.exec(request.execId).start() };
    },

    async delete(request) {
      const target = container(request.id);
      if (request.execId === "") {
        const exit = await target.delete();
        wire.delete(request.id);
        return { pid: target.pid, exitStatus: exit?.status ?? 0, exitedAt: toTimestamp(exit?.exitedAt) };
      }
      const exec = target.exec(request.execId);
      const exit = await exec.delete();
      wire.get(request.id)?.execs.delete(request.execId);
      return { pid: exec.pid, exitStatus: exit?.status ?? 0, exitedAt: toTimestamp(exit?.exitedAt) };
    },

    state(request) {
      const target = container(request.id);
      const info = wire.get(request.id);
      if (request.execId === "") {
        const state = target.state();
        return {
          id: state.id,
          bundle: state.bundle,
          pid: state.pid,
          status: wireStatus(state.status),
          stdin: info?.stdin ?? "",
          stdout: info?.stdout ?? "",
          stderr: info?.stderr ?? "",
          terminal: state.terminal,
          exitStatus: state.exitStatus ?? 0,
          exitedAt: toTimestamp(state.exitedAt),
        };
      }
      const state = target.exec(request.execId).state();
      const execInfo = info?.execs.get(request.execId);
      // Like containerd's runc shim, an exec's state carries the exec id in `id`.
      return {
        id: state.id,
        bundle: target.bundle,
        pid: state.pid,
        status: wireStatus(state.status),
        stdin: execInfo?.stdin ?? "",
        stdout: execInfo?.stdout ?? "",
        stderr: execInfo?.stderr ?? "",
        terminal: state.terminal,
        exitStatus: state.exitStatus ?? 0,
        exitedAt: toTimestamp(state.exitedAt),
      };
    },

    async pids(request) {
      const processes = await container(request.id).pids();
      return {
        processes: processes.map(({ pid, execId }) => ({
          pid,
          ...(execId === undefined
            ? {}
            : { info: packAny(RuncProcessDetailsSchema, create(RuncProcessDetailsSchema, { execId })) }),
        })),
      };
    },

    async pause(request) {
      await container(request.id).pause();
      return {};
    },

    async resume(request) {
      await container(request.id).resume();
      return {};
    },

    async checkpoint(request) {
      const options =
        request.options === undefined ? undefined : unpackAny(request.options, RuncCheckpointOptionsSchema);
      await container(request.id).checkpoint({
        imagePath:
          options?.imagePath !== undefined && options.imagePath !== "" ? options.imagePath : request.path,
        exit: options?.exit ?? false,
        openTcp: options?.openTcp ?? false,
        externalUnixSockets: options?.externalUnixSockets ?? false,
        terminal: options?.terminal ?? false,
        fileLocks: options?.fileLocks ?? false,
        emptyNamespaces: options?.emptyNamespaces ?? [],
        ...(options?.workPath ? { workPath: options.workPath } : {}),
      });
      return {};
    },

    async kill(request) {
      const target = container(request.id);
      if (request.execId === "") await target.kill(request.signal, { all: request.all });
      else await target.exec(request.execId).kill(request.signal);
      return {};
    },

    exec(request) {
      const target = container(request.id);
      if (request.execId === "") throw invalidArgument("exec id must not be empty");
      if (request.spec === undefined) throw invalidArgument(`exec "${request.execId}": no process spec`);
      if (anyTypeName(request.spec) !== OciTypeUrl.Process) {
        throw invalidArgument(
          `exec "${request.execId}": spec type "${request.spec.typeUrl}" is not an OCI process`,
        );
      }
      const process = unpackJsonAny(request.spec) as OciProcess;
      if (!Array.isArray(process.args) || process.args.length === 0) {
        throw invalidArgument(`exec "${request.execId}": process has no args`);
      }
      const info = wire.get(request.id);
      const stdio = stdioFromContainerd(request, { containerId: request.id, namespace });
      info?.execs.set(request.execId, {
        stdin: request.stdin,
        stdout: request.stdout,
        stderr: request.stderr,
        terminal: request.terminal,
      });
      try {
        target.addExec({ id: request.execId, process: { ...process, args: process.args }, stdio });
      } catch (error) {
        info?.execs.delete(request.execId);
        throw error;
      }
      return {};
    },

    async resizePty(request) {
      const target = container(request.id);
      if (request.execId === "") target.resize(request.width, request.height);
      else await target.exec(request.execId).resize(request.width, request.height);
      return {};
    },

    async closeIO(request) {
      const target = container(request.id);
      if (!request.stdin) return {};
      if (request.execId === "") target.closeIO();
      else await target.exec(request.execId).closeIO();
      return {};
    },

    async update(request) {
      if (request.resources === undefined) throw invalidArgument(`update of "${request.id}": no resources`);
      if (anyTypeName(request.resources) !== OciTypeUrl.LinuxResources) {
        throw invalidArgument(
          `update of "${request.id}": resources type "${request.resources.typeUrl}" is not supported`,
        );
      }
      await container(request.id).update(unpackJsonAny(request.resources) as LinuxResources);
      return {};
    },

    async wait(request) {
      const target = container(request.id);
      const exit = request.execId === "" ? await target.wait() : await target.exec(request.execId).wait();
      return { exitStatus: exit.status, exitedAt: toTimestamp(exit.exitedAt) };
    },

    async stats(request) {
      return { stats: metricsAny(await container(request.id).stats()) };
    },

    connect(request) {
      return { shimPid: process.pid, taskPid: supervisor.find(request.id)?.pid ?? 0, version: VERSION };
    },

    shutdown() {
      // containerd calls Shutdown after every Delete; a daemon serving others keeps going.
      if (supervisor.size === 0) setImmediate(options.onShutdown);
      else log.debug({ remaining: supervisor.size }, "shutdown ignored: containers remain");
      return {};
    },
  };
  return { impl, stopEvents };
}

/**
 * cgroup statistics as containerd's Metrics Any. The cgroups layer builds its metrics in exactly the shape of these
 * messages (same field names, bigint for uint64), so they are passed to `create` as they are; only the readonly-ness
 * of their arrays differs from protobuf-es's init types.
 */
function metricsAny(stats: CgroupStats): Any {
  return stats.version === 1
    ? packAny(
        CgroupsV1MetricsSchema,
        create(CgroupsV1MetricsSchema, stats.metrics as MessageInitShape<typeof CgroupsV1MetricsSchema>),
      )
    : packAny(
        CgroupsV2MetricsSchema,
        create(CgroupsV2MetricsSchema, stats.metrics as MessageInitShape<typeof CgroupsV2MetricsSchema>),
      );
}

/** The core's status on the wire. */
function wireStatus(status: InitStatus | "created" | "running" | "stopped"): TaskStatus {
  switch (status) {
    case "created":
      return TaskStatus.CREATED;
    case "running":
      return TaskStatus.RUNNING;
    case "pausing":
      return TaskStatus.PAUSING;
    case "paused":
      return TaskStatus.PAUSED;
    case "stopped":
      return TaskStatus.STOPPED;
  }
}

/** Reads husk's config file when the options name one (CRI's runtimeoptions), else the default/env one. */
async function configFor(options: Any | undefined): Promise<ShimConfig> {
  const runtimeOptions = options === undefined ? undefined : unpackAny(options, RuntimeOptionsSchema);
  return loadShimConfig(runtimeOptions?.configPath ?? "");
}

/**
 * The runtime for a container: runc Options (or legacy runctypes) first, then husk's config file, then defaults —
 * the binary `runc` with root `/run/containerd/runc/<namespace>`, as containerd's runc shim uses.
 */
export function runtimeSelection(
  options: Any | undefined,
  config: ShimConfig,
  namespace: string,
): { runtime: RuntimeSelection; record: RuntimeRecord } {
  const runc = options === undefined ? undefined : unpackAny(options, RuncOptionsSchema);
  const legacy = options === undefined ? undefined : unpackAny(options, legacyRunc.RuncOptionsSchema);
  const legacyCreate = options === undefined ? undefined : unpackAny(options, legacyRunc.CreateOptionsSchema);
  if (options !== undefined && options.typeUrl !== "" && !runc && !legacy && !legacyCreate) {
    const known = unpackAny(options, RuntimeOptionsSchema);
    if (known === undefined) {
      throw invalidArgument(`runtime options of type "${options.typeUrl}" are not supported by husk`);
    }
  }
  const binary = nonEmpty(runc?.binaryName) ?? nonEmpty(legacy?.runtime) ?? config.binaryName ?? "runc";
  const rootBase =
    nonEmpty(runc?.root) ?? nonEmpty(legacy?.runtimeRoot) ?? config.root ?? DEFAULT_RUNTIME_ROOT;
  const root = join(rootBase, namespace);
  const systemdCgroup =
    runc?.systemdCgroup === true || legacy?.systemdCgroup === true || config.systemdCgroup;
  const runtime: RuntimeSelection = {
    binary,
    root,
    systemdCgroup,
    globalArgs: config.runtimeArgs,
    noPivotRoot: runc?.noPivotRoot === true || legacyCreate?.noPivotRoot === true,
    noNewKeyring: runc?.noNewKeyring === true || legacyCreate?.noNewKeyring === true,
    debug: config.debug,
  };
  return { runtime, record: { binary, root, systemdCgroup, globalArgs: config.runtimeArgs } };
}

/** IoUid/IoGid from the runtime options: owner of the container-side stdio pipes. */
function ioOwner(options: Any | undefined): Pick<StdioSpec, "uid" | "gid"> {
  const runc = options === undefined ? undefined : unpackAny(options, RuncOptionsSchema);
  const legacy = options === undefined ? undefined : unpackAny(options, legacyRunc.CreateOptionsSchema);
  const uid = runc?.ioUid ?? legacy?.ioUid ?? 0;
  const gid = runc?.ioGid ?? legacy?.ioGid ?? 0;
  return { ...(uid === 0 ? {} : { uid }), ...(gid === 0 ? {} : { gid }) };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** Maps core lifecycle events to containerd task events, in the core's order. */
function forwardTo(
  publisher: EventPublisher,
  wire: Map<string, ContainerWire>,
): (event: LifecycleEvent) => void {
  return (event) => {
    switch (event.type) {
      case "create": {
        const info = wire.get(event.containerId);
        publisher.publish(TaskTopic.Create, TaskCreateSchema, {
          containerId: event.containerId,
          bundle: event.bundle,
          rootfs: info?.rootfs ?? [],
          io: {
            stdin: info?.stdin ?? "",
            stdout: info?.stdout ?? "",
            stderr: info?.stderr ?? "",
            terminal: info?.terminal ?? false,
          },
          checkpoint: info?.checkpoint ?? "",
          pid: event.pid,
        });
        return;
      }
      case "start":
        publisher.publish(TaskTopic.Start, TaskStartSchema, {
          containerId: event.containerId,
          pid: event.pid,
        });
        return;
      case "exit":
        publisher.publish(TaskTopic.Exit, TaskExitSchema, {
          containerId: event.containerId,
          id: event.id,
          pid: event.pid,
          exitStatus: event.status,
          exitedAt: toTimestamp(event.exitedAt),
        });
        return;
      case "delete":
        publisher.publish(TaskTopic.Delete, TaskDeleteSchema, {
          containerId: event.containerId,
          pid: event.pid,
          exitStatus: event.status,
          exitedAt: toTimestamp(event.exitedAt),
        });
        return;
      case "oom":
        publisher.publish(TaskTopic.OOM, TaskOOMSchema, { containerId: event.containerId });
        return;
      case "exec-added":
        publisher.publish(TaskTopic.ExecAdded, TaskExecAddedSchema, {
          containerId: event.containerId,
          execId: event.execId,
        });
        return;
      case "exec-started":
        publisher.publish(TaskTopic.ExecStarted, TaskExecStartedSchema, {
          containerId: event.containerId,
          execId: event.execId,
          pid: event.pid,
        });
        return;
      case "paused":
        publisher.publish(TaskTopic.Paused, TaskPausedSchema, { containerId: event.containerId });
        return;
      case "resumed":
        publisher.publish(TaskTopic.Resumed, TaskResumedSchema, { containerId: event.containerId });
        return;
      case "checkpointed":
        // containerd's runc shim sends no checkpoint event either.
        return;
    }
  };
}
