/**
 * The `husk` command line, parsed without touching the daemon or the file system: global options, the command word,
 * then each command's own flags with `node:util` parseArgs. For `run` and `exec` everything after the first positional
 * (ROOTFS or ID), or after `--`, belongs to the container's command and is never read as husk's flags.
 *
 * Syntax mistakes (unknown command or flag, missing operand) are {@link UsageError}s; well-formed but invalid values
 * (a bad container id, an unknown signal, a negative limit) are InvalidArgument {@link HuskError}s.
 */
import { parseArgs } from "node:util";
import { Code, HuskError, invalidArgument } from "../errors.js";
import { validateContainerId } from "../oci/id.js";
import type { ContainerLimits, User } from "../oci/spec.js";
import { signalNumber } from "../sys/process.js";

/** The default state root (`--root`, else `HUSK_ROOT`, else this). */
export const DEFAULT_ROOT = "/run/husk";

/** One line of synopsis per command, as `husk help` and usage errors print them. */
export const SYNOPSIS = {
  run:
    "husk run [--runtime runc|crun|PATH] [--rm] [-d] [-t] [-i] [--memory BYTES] [--pids-limit N] [--env K=V]... " +
    "[--cwd DIR] [--user UID[:GID]] [--hostname NAME] [--name ID] ROOTFS [--] COMMAND [ARG...]",
  exec: "husk exec [-t] [-i] [-d] [--env K=V]... [--cwd DIR] [--user UID[:GID]] ID [--] COMMAND [ARG...]",
  list: "husk list [--json]",
  state: "husk state ID",
  ps: "husk ps [--json] ID",
  kill: "husk kill [--all] ID [SIGNAL]",
  pause: "husk pause ID",
  resume: "husk resume ID",
  stats: "husk stats ID",
  delete: "husk delete [-f] ID",
  help: "husk help [COMMAND]",
} as const;

/** A command name as typed (aliases resolved). */
export type CommandName = keyof typeof SYNOPSIS;

const ALIASES: Readonly<Record<string, CommandName>> = { ls: "list", rm: "delete" };

/** The one-line synopsis of the whole program. */
export const PROGRAM_SYNOPSIS =
  "husk [--root DIR] [--debug] COMMAND [OPTIONS] [ARGS...]   (husk help for commands)";

/**
 * A syntax error on the command line: printed as `husk: <message>` plus the usage line of `command`, exit status 2.
 * Its code is InvalidArgument.
 */
export class UsageError extends HuskError {
  /** The command whose synopsis is printed, or undefined for the program's. */
  readonly command: CommandName | undefined;

  constructor(message: string, command?: CommandName) {
    super(Code.InvalidArgument, message);
    this.command = command;
  }

  /** The usage line to print after the message. */
  get usage(): string {
    return `usage: ${this.command === undefined ? PROGRAM_SYNOPSIS : SYNOPSIS[this.command]}`;
  }
}

/** True for a {@link UsageError}. */
export function isUsageError(value: unknown): value is UsageError {
  return value instanceof UsageError;
}

/** Options before the command word. */
export interface GlobalOptions {
  /** `--root DIR`, if given. */
  readonly root: string | undefined;
  /** `--debug`: a daemon this invocation starts logs at debug level. */
  readonly debug: boolean;
}

/** What `husk run` does. */
export interface RunCommand {
  readonly name: "run";
  /** `--runtime`: runc, crun or a path to an OCI runtime binary; undefined = the daemon's default (runc). */
  readonly runtime: string | undefined;
  readonly remove: boolean;
  readonly detach: boolean;
  readonly tty: boolean;
  readonly interactive: boolean;
  readonly limits: ContainerLimits;
  /** `KEY=value` entries; undefined = the default environment. */
  readonly env: readonly string[] | undefined;
  readonly cwd: string | undefined;
  readonly user: User | undefined;
  readonly hostname: string | undefined;
  /** `--name`, validated; undefined = generate one. */
  readonly id: string | undefined;
  /** The root filesystem directory as typed (resolve it against the caller's cwd). */
  readonly rootfs: string;
  /** The container's argv, never empty. */
  readonly args: readonly string[];
}

/** What `husk exec` does. */
export interface ExecCommand {
  readonly name: "exec";
  readonly tty: boolean;
  readonly interactive: boolean;
  readonly detach: boolean;
  readonly env: readonly string[] | undefined;
  readonly cwd: string | undefined;
  readonly user: User | undefined;
  readonly id: string;
  readonly args: readonly string[];
}

/** Every parsed command. */
export type Command =
  | RunCommand
  | ExecCommand
  | { readonly name: "list"; readonly json: boolean }
  | { readonly name: "state"; readonly id: string }
  | { readonly name: "ps"; readonly id: string; readonly json: boolean }
  | { readonly name: "kill"; readonly id: string; readonly signal: number; readonly all: boolean }
  | { readonly name: "pause"; readonly id: string }
  | { readonly name: "resume"; readonly id: string }
  | { readonly name: "stats"; readonly id: string }
  | { readonly name: "delete"; readonly id: string; readonly force: boolean }
  | { readonly name: "help"; readonly topic: CommandName | undefined }
  | { readonly name: "version" };

/** The whole command line: global options, the command word as typed, and what it asks for. */
export interface CommandLine {
  readonly global: GlobalOptions;
  readonly command: Command;
}

/** Global options and the command word, with the command's own arguments still unparsed. */
export interface CommandWord {
  readonly global: GlobalOptions;
  /** The command, aliases resolved; "version" for `--version`, "help" for no command or `--help`. */
  readonly name: CommandName | "version";
  readonly rest: readonly string[];
}

/**
 * Reads global options (`--root DIR`, `--root=DIR`, `--debug`, `--version`/`-v`, `--help`/`-h`) up to the command
 * word. Throws UsageError for an unknown global flag or command.
 */
export function parseCommandWord(argv: readonly string[]): CommandWord {
  let root: string | undefined;
  let debug = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--root" || arg.startsWith("--root=")) {
      const value = arg === "--root" ? argv[++i] : arg.slice("--root=".length);
      if (value === undefined || value === "") throw new UsageError('option "--root" needs a directory');
      root = value;
    } else if (arg === "--debug") {
      debug = true;
    } else if (arg === "--version" || arg === "-v") {
      return { global: { root, debug }, name: "version", rest: argv.slice(i + 1) };
    } else if (arg === "--help" || arg === "-h") {
      return { global: { root, debug }, name: "help", rest: argv.slice(i + 1) };
    } else if (arg.startsWith("-")) {
      throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    } else {
      return { global: { root, debug }, name: commandName(arg), rest: argv.slice(i + 1) };
    }
  }
  return { global: { root, debug }, name: "help", rest: [] };
}

function commandName(word: string): CommandName | "version" {
  if (word === "version") return "version";
  const name = ALIASES[word] ?? word;
  if (!Object.hasOwn(SYNOPSIS, name)) throw new UsageError(`unknown command ${JSON.stringify(word)}`);
  return name as CommandName;
}

/** Parses a whole command line. Throws UsageError or an InvalidArgument HuskError. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const word = parseCommandWord(argv);
  return { global: word.global, command: parseCommand(word.name, word.rest) };
}

type OptionSpec = {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly multiple?: boolean;
};
type OptionSpecs = Readonly<Record<string, OptionSpec>>;

const HELP = { help: { type: "boolean", short: "h" } } as const satisfies OptionSpecs;

const PROCESS_OPTIONS = {
  tty: { type: "boolean", short: "t" },
  interactive: { type: "boolean", short: "i" },
  detach: { type: "boolean", short: "d" },
  env: { type: "string", short: "e", multiple: true },
  cwd: { type: "string", short: "w" },
  user: { type: "string", short: "u" },
  ...HELP,
} as const satisfies OptionSpecs;

const RUN_OPTIONS = {
  ...PROCESS_OPTIONS,
  runtime: { type: "string" },
  rm: { type: "boolean" },
  memory: { type: "string", short: "m" },
  "pids-limit": { type: "string" },
  hostname: { type: "string" },
  name: { type: "string" },
} as const satisfies OptionSpecs;

/** Parses the arguments of one command (after the command word). */
export function parseCommand(name: CommandName | "version", args: readonly string[]): Command {
  switch (name) {
    case "version":
      return { name: "version" };
    case "help": {
      const topic = args[0];
      if (topic === undefined) return { name: "help", topic: undefined };
      const resolved = commandName(topic);
      return { name: "help", topic: resolved === "version" ? undefined : resolved };
    }
    case "run":
      return parseRun(args);
    case "exec":
      return parseExec(args);
    case "list": {
      const { values } = parseFlat("list", args, { json: { type: "boolean" }, ...HELP }, 0);
      return help("list", values) ?? { name: "list", json: values.json === true };
    }
    case "state":
    case "pause":
    case "resume":
    case "stats": {
      const { values, positionals } = parseFlat(name, args, HELP, 1);
      return help(name, values) ?? { name, id: containerId(positionals[0]) };
    }
    case "ps": {
      const { values, positionals } = parseFlat("ps", args, { json: { type: "boolean" }, ...HELP }, 1);
      return (
        help("ps", values) ?? { name: "ps", id: containerId(positionals[0]), json: values.json === true }
      );
    }
    case "kill": {
      const { values, positionals } = parseFlat(
        "kill",
        args,
        { all: { type: "boolean", short: "a" }, ...HELP },
        1,
        2,
      );
      return (
        help("kill", values) ?? {
          name: "kill",
          id: containerId(positionals[0]),
          signal: signalNumber(positionals[1] ?? "TERM"),
          all: values.all === true,
        }
      );
    }
    case "delete": {
      const { values, positionals } = parseFlat(
        "delete",
        args,
        { force: { type: "boolean", short: "f" }, ...HELP },
        1,
      );
      return (
        help("delete", values) ?? {
          name: "delete",
          id: containerId(positionals[0]),
          force: values.force === true,
        }
      );
    }
  }
}

type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

function help(name: CommandName, values: FlagValues): Command | undefined {
  return values.help === true ? { name: "help", topic: name } : undefined;
}

/** parseArgs for a command with only flags and `min..max` positionals (flags may follow positionals). */
function parseFlat(
  command: CommandName,
  args: readonly string[],
  options: OptionSpecs,
  min: number,
  max = min,
): { values: FlagValues; positionals: string[] } {
  const { values, positionals } = strictParse(command, args, options, true);
  if (values.help === true) return { values, positionals };
  if (positionals.length < min) {
    throw new UsageError(`${command} needs ${min === 1 ? "a container id" : `${min} arguments`}`, command);
  }
  if (positionals.length > max) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[max])}`, command);
  }
  return { values, positionals };
}

function strictParse(
  command: CommandName,
  args: readonly string[],
  options: OptionSpecs,
  allowPositionals: boolean,
): { values: FlagValues; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (error) {
    throw new UsageError(describeParseError(error), command);
  }
}

/** Turns parseArgs' long advice into a short message naming the flag. */
function describeParseError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']+)'/.exec(message)?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${JSON.stringify(quoted ?? message)}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const flag = quoted?.split(" ")[0];
      if (flag !== undefined && message.includes("argument missing")) return `option "${flag}" needs a value`;
      if (flag !== undefined && message.includes("ambiguous")) {
        return `option "${flag}" needs a value (write ${flag}=VALUE for a value starting with "-")`;
      }
      if (flag !== undefined && message.includes("does not take an argument")) {
        return `option "${flag}" does not take a value`;
      }
      return message.split(".")[0] ?? message;
    }
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${JSON.stringify(quoted ?? message)}`;
    default:
      return message.split("\n")[0] ?? message;
  }
}

/**
 * Splits `args` where husk's flags end: at the first positional (kept in `tail`) or at `--` (dropped). Flags that take
 * a value consume it (`--name X`, `-e K=V`, `-eK=V`); short flags may be grouped (`-it`).
 */
export function splitAtFirstPositional(
  args: readonly string[],
  options: OptionSpecs,
): { head: string[]; tail: string[]; afterDashDash: boolean } {
  const takesValue = (name: string): boolean => options[name]?.type === "string";
  const shortTakesValue = (letter: string): boolean =>
    Object.values(options).some((spec) => spec.short === letter && spec.type === "string");
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--") return { head: args.slice(0, i), tail: args.slice(i + 1), afterDashDash: true };
    if (arg.startsWith("--")) {
      if (!arg.includes("=") && takesValue(arg.slice(2))) i++;
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      const letters = arg.slice(1);
      for (let j = 0; j < letters.length; j++) {
        if (shortTakesValue(letters[j] ?? "")) {
          if (j === letters.length - 1) i++;
          break;
        }
      }
      continue;
    }
    return { head: args.slice(0, i), tail: args.slice(i), afterDashDash: false };
  }
  return { head: [...args], tail: [], afterDashDash: false };
}

/** Flags, then OPERAND, then an optional `--`, then the command (never empty). */
function parseWithCommand(
  command: "run" | "exec",
  args: readonly string[],
  options: OptionSpecs,
  operand: string,
): { values: FlagValues; operand: string; argv: string[] } | { values: FlagValues; help: true } {
  const { head, tail } = splitAtFirstPositional(args, options);
  const { values } = strictParse(command, head, options, false);
  if (values.help === true) return { values, help: true };
  const [first, ...rest] = tail;
  if (first === undefined) throw new UsageError(`${command} needs ${operand} and a command`, command);
  const argv = rest[0] === "--" ? rest.slice(1) : rest;
  if (argv.length === 0) throw new UsageError(`${command} needs a command after ${operand}`, command);
  if (argv[0] === "") throw invalidArgument("the command must not be empty");
  return { values, operand: first, argv };
}

function parseRun(args: readonly string[]): Command {
  const parsed = parseWithCommand("run", args, RUN_OPTIONS, "ROOTFS");
  if ("help" in parsed) return { name: "help", topic: "run" };
  const { values } = parsed;
  const detach = values.detach === true;
  const remove = values.rm === true;
  const interactive = values.interactive === true;
  if (detach && remove) throw new UsageError('options "--rm" and "-d" cannot be used together', "run");
  if (detach && interactive) throw new UsageError('options "-i" and "-d" cannot be used together', "run");
  const runtime = optionalString(values.runtime);
  if (runtime === "") throw invalidArgument("--runtime must name a runtime");
  const name = optionalString(values.name);
  const hostname = optionalString(values.hostname);
  if (hostname === "") throw invalidArgument("--hostname must not be empty");
  const memory = optionalString(values.memory);
  const pids = optionalString(values["pids-limit"]);
  return {
    name: "run",
    runtime,
    remove,
    detach,
    tty: values.tty === true,
    interactive,
    limits: {
      ...(memory === undefined ? {} : { memoryBytes: parseBytes(memory) }),
      ...(pids === undefined ? {} : { pidsLimit: parsePositiveInteger("--pids-limit", pids) }),
    },
    env: parseEnv(values.env),
    cwd: parseCwd(values.cwd),
    user: parseUserOption(values.user),
    hostname,
    id: name === undefined ? undefined : validateContainerId(name),
    rootfs: parsed.operand,
    args: parsed.argv,
  };
}

function parseExec(args: readonly string[]): Command {
  const parsed = parseWithCommand("exec", args, PROCESS_OPTIONS, "ID");
  if ("help" in parsed) return { name: "help", topic: "exec" };
  const { values } = parsed;
  const detach = values.detach === true;
  const interactive = values.interactive === true;
  if (detach && interactive) throw new UsageError('options "-i" and "-d" cannot be used together', "exec");
  return {
    name: "exec",
    tty: values.tty === true,
    interactive,
    detach,
    env: parseEnv(values.env),
    cwd: parseCwd(values.cwd),
    user: parseUserOption(values.user),
    id: validateContainerId(parsed.operand),
    args: parsed.argv,
  };
}

function containerId(value: string | undefined): string {
  return validateContainerId(value ?? "");
}

function optionalString(value: FlagValues[string]): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function parseEnv(value: FlagValues[string]): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const entries = value.filter((entry): entry is string => typeof entry === "string");
  for (const entry of entries) {
    if (entry.indexOf("=") <= 0)
      throw invalidArgument(`--env ${JSON.stringify(entry)} is invalid: expected KEY=VALUE`);
  }
  return entries;
}

function parseCwd(value: FlagValues[string]): string | undefined {
  const cwd = optionalString(value);
  if (cwd !== undefined && !cwd.startsWith("/")) {
    throw invalidArgument(`--cwd ${JSON.stringify(cwd)} must be an absolute path inside the container`);
  }
  return cwd;
}

function parseUserOption(value: FlagValues[string]): User | undefined {
  const user = optionalString(value);
  return user === undefined ? undefined : parseUser(user);
}

const MAX_ID = 0xffff_ffff;

/** `UID` or `UID:GID`, both decimal (names are not resolved); the group defaults to 0, as other engines do. */
export function parseUser(text: string): User {
  const match = /^(\d+)(?::(\d+))?$/.exec(text);
  const uid = Number(match?.[1]);
  const gid = match?.[2] === undefined ? 0 : Number(match[2]);
  if (match === null || uid > MAX_ID || gid > MAX_ID) {
    throw invalidArgument(`--user ${JSON.stringify(text)} is invalid: expected UID or UID:GID (numbers)`);
  }
  return { uid, gid };
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
};

/** A byte count: an integer with an optional binary unit k, m, g or t (`512m` = 512 MiB). Must be positive. */
export function parseBytes(text: string): number {
  const match = /^(\d+)([a-z]*)$/i.exec(text.trim());
  const unit = BYTE_UNITS[match?.[2]?.toLowerCase() ?? "?"];
  const bytes = match === null || unit === undefined ? Number.NaN : Number(match[1]) * unit;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw invalidArgument(
      `--memory ${JSON.stringify(text)} is invalid: expected a positive size like 67108864 or 64m`,
    );
  }
  return bytes;
}

function parsePositiveInteger(flag: string, text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw invalidArgument(`${flag} ${JSON.stringify(text)} is invalid: expected a positive integer`);
  }
  return value;
}

/** The state root: `--root`, else `HUSK_ROOT`, else {@link DEFAULT_ROOT}. */
export function stateRootFrom(option: string | undefined, env: NodeJS.ProcessEnv): string {
  if (option !== undefined) return option;
  const fromEnv = env.HUSK_ROOT;
  return fromEnv === undefined || fromEnv === "" ? DEFAULT_ROOT : fromEnv;
}
