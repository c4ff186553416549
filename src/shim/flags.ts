/**
 * The shim's command line, as containerd writes it with Go's `flag` package:
 * `BIN -namespace NS -address ADDR -publish-binary BIN -id ID [-debug] [-bundle DIR] [-socket PATH] start|delete`.
 * Single or double dashes, `-name value` or `-name=value`; bool flags take no value (or `=true|false`); parsing stops
 * at the first non-flag word, the action. Imports nothing: this runs on the `start` path.
 *
 * containerd counterpart: runtime/v2/shim/shim.go `parseFlags`.
 */

export interface ShimFlags {
  readonly namespace: string;
  readonly address: string;
  readonly publishBinary: string;
  readonly id: string;
  readonly bundle: string;
  readonly socket: string;
  readonly debug: boolean;
  readonly version: boolean;
  /** `start`, `delete`, or "" for the daemon. */
  readonly action: string;
  /** Words after the action. */
  readonly rest: readonly string[];
}

const STRING_FLAGS = {
  namespace: "namespace",
  address: "address",
  "publish-binary": "publishBinary",
  id: "id",
  bundle: "bundle",
  socket: "socket",
} as const;
const BOOL_FLAGS = { debug: "debug", v: "version" } as const;

type StringFlag = keyof typeof STRING_FLAGS;
type BoolFlag = keyof typeof BOOL_FLAGS;

/** A command-line error: containerd shows it in the Create error. */
export class FlagError extends Error {
  override readonly name = "FlagError";
}

/** Parses argv (without node and the script). Throws FlagError for an unknown flag or a missing value. */
export function parseShimFlags(argv: readonly string[]): ShimFlags {
  const strings: Record<(typeof STRING_FLAGS)[StringFlag], string> = {
    namespace: "",
    address: "",
    publishBinary: "",
    id: "",
    bundle: "",
    socket: "",
  };
  const bools: Record<(typeof BOOL_FLAGS)[BoolFlag], boolean> = { debug: false, version: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq === -1 ? body : body.slice(0, eq);
    const inline = eq === -1 ? undefined : body.slice(eq + 1);
    if (name in STRING_FLAGS) {
      let value = inline;
      if (value === undefined) {
        i++;
        value = argv[i];
        if (value === undefined) throw new FlagError(`flag needs an argument: -${name}`);
      }
      strings[STRING_FLAGS[name as StringFlag]] = value;
    } else if (name in BOOL_FLAGS) {
      bools[BOOL_FLAGS[name as BoolFlag]] = parseBool(name, inline);
    } else {
      throw new FlagError(`flag provided but not defined: -${name}`);
    }
  }
  return { ...strings, ...bools, action: argv[i] ?? "", rest: argv.slice(i + 1) };
}

function parseBool(name: string, value: string | undefined): boolean {
  if (value === undefined) return true;
  switch (value.toLowerCase()) {
    case "1":
    case "t":
    case "true":
      return true;
    case "0":
    case "f":
    case "false":
      return false;
    default:
      throw new FlagError(`invalid boolean value "${value}" for -${name}`);
  }
}
