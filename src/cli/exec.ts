/**
 * `husk exec`: run another process in a running container through the daemon's Exec, attached like `husk run`
 * (separate stdout/stderr or a pty, stdin with `-i`, signals forwarded) and exit with its exit status; the exec is
 * deleted afterwards. `-d` starts it with no stdio and returns at once.
 *
 * containerd counterpart: `ctr task exec` (cmd/ctr/commands/tasks/exec.go).
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { OciTypeUrl, packJsonAny } from "../api/index.js";
import { Code } from "../errors.js";
import type { ExecCommand } from "./args.js";
import { type CliContext, hasCode, missingContainer, withContainer } from "./context.js";
import type { TaskClient } from "./daemon.js";
import { bundleEnv, mergeEnv } from "./env.js";
import { OUTPUT_DRAIN_MS } from "./run.js";
import { createSignalForwarder } from "./signals.js";
import { NULL_STDIO, openProcessStdio } from "./stdio.js";
import { attachTerminal } from "./terminal.js";

/**
 * The partial OCI process an exec sends: the daemon fills in what is missing (env, cwd, user, capabilities…) from the
 * container's own process.
 */
export interface ExecProcess {
  readonly args: readonly string[];
  readonly terminal: boolean;
  readonly env?: readonly string[];
  readonly cwd?: string;
  readonly user?: { readonly uid: number; readonly gid: number };
}

/** The process an exec command asks for; `env` is the full environment when `--env` was given. */
export function execProcess(command: ExecCommand, env: readonly string[] | undefined): ExecProcess {
  return {
    args: command.args,
    terminal: command.tty,
    ...(env === undefined ? {} : { env }),
    ...(command.cwd === undefined ? {} : { cwd: command.cwd }),
    ...(command.user === undefined ? {} : { user: command.user }),
  };
}

/** Runs `husk exec`; resolves with the exit status to exit with (0 for `-d`). */
export async function execInContainer(command: ExecCommand, context: CliContext): Promise<number> {
  const { id } = command;
  // The FIFOs go into the bundle: without one there is no container to exec in.
  if (!existsSync(context.layout.bundle(id))) throw missingContainer(context, id);
  const execId = `exec-${randomBytes(6).toString("hex")}`;
  // The daemon takes env as a whole: --env adds to the container's own environment.
  const env =
    command.env === undefined
      ? undefined
      : mergeEnv(await bundleEnv(context.layout.bundle(id), command.tty), command.env);
  const spec = packJsonAny(OciTypeUrl.Process, execProcess(command, env));
  return withContainer(context, id, async (task) => {
    if (command.detach) {
      await task.exec({ id, execId, spec, ...NULL_STDIO, terminal: command.tty });
      try {
        await task.start({ id, execId });
      } catch (error) {
        await deleteExec(task, id, execId);
        throw error;
      }
      return 0;
    }
    return execAttached(task, context, command, execId, spec);
  });
}

async function execAttached(
  task: TaskClient,
  context: CliContext,
  command: ExecCommand,
  execId: string,
  spec: ReturnType<typeof packJsonAny>,
): Promise<number> {
  const { id } = command;
  const stdio = openProcessStdio({
    dir: context.layout.bundle(id),
    prefix: `${execId}-`,
    stdin: command.interactive,
    terminal: command.tty,
  });
  const signals = createSignalForwarder();
  const terminal = command.tty
    ? attachTerminal({
        raw: command.interactive,
        resize: (width, height) => task.resizePty({ id, execId, width, height }),
      })
    : undefined;
  let added = false;
  try {
    await task.exec({ id, execId, spec, ...stdio.request });
    added = true;
    await task.start({ id, execId });
    stdio.startOutput();
    // Only now: the daemon may open its side of stdin as late as Start, and our writer must not close (nor CloseIO be
    // sent) before it has — a FIFO with neither end open drops what was written into it.
    stdio.startInput(() => task.closeIO({ id, execId, stdin: true }));
    if (terminal !== undefined) {
      // An exec's pty exists only once it started.
      await terminal.sendSize().catch(() => undefined);
      terminal.followResizes();
    }
    signals.attach((signal) => task.kill({ id, execId, signal }));
    const exit = await task.wait({ id, execId });
    await stdio.drained(OUTPUT_DRAIN_MS);
    return exit.exitStatus;
  } finally {
    signals.stop();
    terminal?.restore();
    stdio.close();
    // Best effort: an error here must not hide the exec's own outcome.
    if (added) await deleteExec(task, id, execId).catch(() => undefined);
  }
}

/** Deletes an exec that has exited (or never started); one still running is left alone. */
async function deleteExec(task: TaskClient, id: string, execId: string): Promise<void> {
  try {
    await task.delete({ id, execId });
  } catch (error) {
    if (!hasCode(error, Code.NotFound) && !hasCode(error, Code.FailedPrecondition)) throw error;
  }
}
