/**
 * `husk run`: write a bundle for a rootfs directory, have the daemon Create and Start the container, then either print
 * its id and return (`-d`, output to `<bundle>/output.log`) or stay attached: stream stdout and stderr separately
 * (or the pty), forward signals and stdin, Wait, drain the output, and exit with the container's exit status.
 * `--rm` deletes the container, its bundle, and lets the daemon exit when nothing is left.
 *
 * containerd counterpart: `ctr run` (cmd/ctr/commands/run: NewContainer, NewTask, Start, Wait, Delete).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { create } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { packAny, RuncOptionsSchema } from "../api/index.js";
import { alreadyExists, errnoOf } from "../errors.js";
import { writeBundle } from "../oci/spec.js";
import type { RunCommand } from "./args.js";
import { type CliContext, print } from "./context.js";
import { connectDaemon, type DaemonConnection, type TaskClient } from "./daemon.js";
import { defaultEnv, mergeEnv } from "./env.js";
import type { RootLayout } from "./layout.js";
import { killAndWait, shutdownQuietly } from "./remove.js";
import { createSignalForwarder } from "./signals.js";
import { isLive, viewOf } from "./state.js";
import { fileStdio, openProcessStdio } from "./stdio.js";
import { attachTerminal } from "./terminal.js";

/** How long, after the exit, the output may take to arrive before we stop waiting for it (ms). */
export const OUTPUT_DRAIN_MS = 5_000;
/** The file a detached container's stdout and stderr go to, in its bundle. */
export const OUTPUT_LOG = "output.log";

/** Runs `husk run`; resolves with the exit status to exit with. */
export async function runContainer(command: RunCommand, context: CliContext): Promise<number> {
  const { layout } = context;
  mkdirSync(layout.containers, { recursive: true, mode: 0o711 });
  const id = reserveBundle(layout, command.id);
  const bundle = layout.bundle(id);
  let connection: DaemonConnection | undefined;
  /** The daemon has the container (Create succeeded and it was not deleted since). */
  let created = false;
  /** Keep the bundle (and so the container) when we are done. */
  let keep = false;
  try {
    await writeBundle(bundle, {
      rootfs: resolve(command.rootfs),
      args: command.args,
      terminal: command.tty,
      limits: command.limits,
      ...(command.env === undefined ? {} : { env: mergeEnv(defaultEnv(command.tty), command.env) }),
      ...(command.cwd === undefined ? {} : { cwd: command.cwd }),
      ...(command.user === undefined ? {} : { user: command.user }),
      ...(command.hostname === undefined ? {} : { hostname: command.hostname }),
    });
    connection = await connectDaemon(layout, { start: true, debug: context.debug });
    const { task } = connection;
    const options = runtimeOptions(command.runtime, layout);

    if (command.detach) {
      await task.create({ id, bundle, ...fileStdio(join(bundle, OUTPUT_LOG), command.tty), options });
      created = true;
      await task.start({ id });
      keep = true;
      await print(context.out, `${id}\n`);
      return 0;
    }

    const status = await runAttached(task, id, bundle, command, options, () => {
      created = true;
    });
    keep = !command.remove;
    if (command.remove) {
      await task.delete({ id });
      created = false;
    }
    return status;
  } finally {
    if (!keep) await discard(connection?.task, layout, id, created);
    await connection?.close();
  }
}

/** Create, Start, Wait with our stdio attached; returns the exit status once the output is drained. */
async function runAttached(
  task: TaskClient,
  id: string,
  bundle: string,
  command: RunCommand,
  options: Any,
  onCreated: () => void,
): Promise<number> {
  const stdio = openProcessStdio({
    dir: bundle,
    prefix: "",
    stdin: command.interactive,
    terminal: command.tty,
  });
  const signals = createSignalForwarder();
  const terminal = command.tty
    ? attachTerminal({
        raw: command.interactive,
        resize: (width, height) => task.resizePty({ id, width, height }),
      })
    : undefined;
  try {
    await task.create({ id, bundle, ...stdio.request, options });
    onCreated();
    if (terminal !== undefined) {
      // The pty exists from Create on: size it before the process can ask for its size. A size the daemon refuses
      // is not worth failing the run for.
      await terminal.sendSize().catch(() => undefined);
      terminal.followResizes();
    }
    await task.start({ id });
    stdio.startOutput();
    // Only now: the daemon may open its side of stdin as late as Start, and our writer must not close (nor CloseIO be
    // sent) before it has — a FIFO with neither end open drops what was written into it.
    stdio.startInput(() => task.closeIO({ id, stdin: true }));
    signals.attach((signal) => task.kill({ id, signal }));
    const exit = await task.wait({ id });
    await stdio.drained(OUTPUT_DRAIN_MS);
    return exit.exitStatus;
  } finally {
    signals.stop();
    terminal?.restore();
    stdio.close();
  }
}

/**
 * Undoes a run that failed or used `--rm`: the container (killed first if it still runs) and its bundle go, and the
 * daemon is told with Shutdown. Best effort: the original error, if any, is what the person sees.
 */
async function discard(
  task: TaskClient | undefined,
  layout: RootLayout,
  id: string,
  created: boolean,
): Promise<void> {
  if (task !== undefined && created) {
    try {
      const { status } = viewOf(await task.state({ id }), layout.bundle(id));
      if (isLive(status)) await killAndWait(task, id, status !== "running");
      await task.delete({ id });
    } catch {
      // Left for `husk delete -f`; keep its bundle so that it can be found.
      return;
    }
  }
  rmSync(layout.bundle(id), { recursive: true, force: true });
  if (task !== undefined) await shutdownQuietly(task, id);
}

/** runc Options: the runtime binary (empty = the daemon's default, runc) and the runtime root under our state root. */
export function runtimeOptions(runtime: string | undefined, layout: RootLayout): Any {
  return packAny(
    RuncOptionsSchema,
    create(RuncOptionsSchema, { binaryName: runtime ?? "", root: layout.runtimeBase }),
  );
}

/** Creates the bundle directory; its existence is what makes an id taken. Generates an id when none is given. */
function reserveBundle(layout: RootLayout, requested: string | undefined): string {
  for (;;) {
    const id = requested ?? randomBytes(6).toString("hex");
    try {
      mkdirSync(layout.bundle(id), { mode: 0o711 });
      return id;
    } catch (error) {
      if (errnoOf(error) !== "EEXIST") throw error;
      if (requested !== undefined) throw alreadyExists(`container "${id}" already exists`, error);
    }
  }
}
