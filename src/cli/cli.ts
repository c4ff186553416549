/**
 * The `husk` command: parses the command line, runs the command against the husk daemon of the state root, and
 * answers the exit status. Every failure is one line `husk: <message>` on stderr, never a
 * stack trace. Exit statuses: the container's for `run`/`exec`; 125 when husk itself failed there (126/127 when the
 * command could not be executed / was not found, as other engines report); 1 for other commands' failures; 2 for a
 * usage error (with the command's usage line).
 */
import { isHuskError } from "../errors.js";
import { VERSION } from "../version.js";
import {
  type Command,
  type CommandName,
  isUsageError,
  PROGRAM_SYNOPSIS,
  parseCommand,
  parseCommandWord,
  SYNOPSIS,
  stateRootFrom,
} from "./args.js";
import { type CliContext, print } from "./context.js";
import { execInContainer } from "./exec.js";
import { oneLine } from "./format.js";
import { rootLayout } from "./layout.js";
import {
  deleteContainer,
  killContainer,
  listContainers,
  listProcesses,
  pauseContainer,
  resumeContainer,
  showState,
  showStats,
} from "./manage.js";
import { runContainer } from "./run.js";

/** Exit status of a usage error. */
export const EXIT_USAGE = 2;
/** Exit status of a failed command other than run/exec. */
export const EXIT_FAILURE = 1;
/** Exit status of `run`/`exec` when husk failed (not the container), as docker and podman use it. */
export const EXIT_HUSK_FAILURE = 125;
/** Exit status when the container's command could not be executed (permission). */
export const EXIT_CANNOT_EXECUTE = 126;
/** Exit status when the container's command was not found. */
export const EXIT_COMMAND_NOT_FOUND = 127;

const DESCRIPTIONS: Readonly<Record<CommandName, string>> = {
  run: "run a command in a new container from a root filesystem directory",
  exec: "run another command in a running container",
  list: "list containers (alias: ls)",
  state: "show a container's state as JSON",
  ps: "list a container's processes",
  kill: "send a signal (default TERM) to a container's init, or to all its processes",
  pause: "freeze every process of a container",
  resume: "thaw a paused container",
  stats: "show a container's cgroup metrics as JSON",
  delete: "delete a stopped container (-f: kill it first) and its bundle (alias: rm)",
  help: "show this help, or one command's usage",
};

/** Runs the CLI for `argv` (without node and the script); resolves with the exit status. Never rejects. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const failureStatus = failureStatusOf(argv);
  try {
    const word = parseCommandWord(argv);
    const command = parseCommand(word.name, word.rest);
    const context: CliContext = {
      layout: rootLayout(stateRootFrom(word.global.root, process.env)),
      debug: word.global.debug,
      out: process.stdout,
    };
    return await execute(command, context);
  } catch (error) {
    reportError(error);
    if (isUsageError(error)) return EXIT_USAGE;
    return failureStatus === EXIT_HUSK_FAILURE ? execFailureStatus(error) : failureStatus;
  }
}

function execute(command: Command, context: CliContext): Promise<number> {
  switch (command.name) {
    case "run":
      return runContainer(command, context);
    case "exec":
      return execInContainer(command, context);
    case "list":
      return listContainers(command.json, context);
    case "state":
      return showState(command.id, context);
    case "ps":
      return listProcesses(command.id, command.json, context);
    case "kill":
      return killContainer(command.id, command.signal, command.all, context);
    case "pause":
      return pauseContainer(command.id, context);
    case "resume":
      return resumeContainer(command.id, context);
    case "stats":
      return showStats(command.id, context);
    case "delete":
      return deleteContainer(command.id, command.force, context);
    case "version":
      return print(context.out, `husk version ${VERSION}\n`).then(() => 0);
    case "help":
      return print(context.out, helpText(command.topic)).then(() => 0);
  }
}

/** The text `husk help [COMMAND]` prints. */
export function helpText(topic: CommandName | undefined): string {
  if (topic !== undefined) return `usage: ${SYNOPSIS[topic]}\n\n${DESCRIPTIONS[topic]}\n`;
  const names = Object.keys(SYNOPSIS) as CommandName[];
  const width = Math.max(...names.map((name) => name.length));
  const lines = names.map((name) => `  ${name.padEnd(width)}  ${DESCRIPTIONS[name]}`);
  return [
    `usage: ${PROGRAM_SYNOPSIS}`,
    "",
    "Commands:",
    ...lines,
    "",
    "Global options:",
    "  --root DIR   state root (default: $HUSK_ROOT, else /run/husk)",
    "  --debug      a daemon started by this command logs at debug level",
    "  --version    print the version",
    "",
  ].join("\n");
}

/** Prints the one-line error (plus the usage line for a usage error) to stderr. */
export function reportError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`husk: ${oneLine(message) || "unknown error"}\n`);
  if (isUsageError(error)) process.stderr.write(`${error.usage}\n`);
}

/**
 * The status of a failed run/exec: 127 when the runtime could not find the command, 126 when it could not execute it,
 * else 125.
 */
export function execFailureStatus(error: unknown): number {
  if (!isHuskError(error)) return EXIT_HUSK_FAILURE;
  if (
    /executable file not found|exec: "[^"]*": (?:stat [^:]*: )?no such file or directory/.test(error.message)
  ) {
    return EXIT_COMMAND_NOT_FOUND;
  }
  if (/exec: "[^"]*": permission denied/.test(error.message)) return EXIT_CANNOT_EXECUTE;
  return EXIT_HUSK_FAILURE;
}

/** The status of a failure of husk itself: 125 for run and exec (so it differs from the container's), else 1. */
export function failureStatusOf(argv: readonly string[]): number {
  try {
    const { name } = parseCommandWord(argv);
    return name === "run" || name === "exec" ? EXIT_HUSK_FAILURE : EXIT_FAILURE;
  } catch {
    return EXIT_FAILURE;
  }
}
