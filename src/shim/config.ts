/**
 * husk's shim configuration file (TOML). Looked up, first found wins: the `config_path` of CRI's
 * `runtimeoptions.v1.Options` (containerd's `ConfigPath` runtime option, `ctr run --runtime-config-path`), the
 * HUSK_SHIM_CONFIG environment variable (containerd passes its environment to shims), then /etc/husk/shim.toml.
 *
 * ```toml
 * grouping = "pod"          # "container" | "pod" (default) | "namespace": which containers share one daemon
 * binary_name = "runc"      # OCI runtime when the runtime options do not name one: runc, crun, runsc or a path
 * root = "/run/containerd/runc"   # the runtime's --root (husk appends /<namespace>)
 * systemd_cgroup = false
 * runtime_args = []         # extra global runtime flags, e.g. ["--cgroup-manager=disabled"] for crun
 * debug = false
 * ```
 */
import { readFile } from "node:fs/promises";
import { invalidArgument, notFound } from "../errors.js";

export type Grouping = "container" | "pod" | "namespace";
const GROUPINGS: readonly Grouping[] = ["container", "pod", "namespace"];

export interface ShimConfig {
  readonly grouping: Grouping;
  readonly binaryName: string | undefined;
  readonly root: string | undefined;
  readonly systemdCgroup: boolean;
  readonly runtimeArgs: readonly string[];
  readonly debug: boolean;
}

export const DEFAULT_CONFIG_PATH = "/etc/husk/shim.toml";
/** containerd's runc shim default runtime root (husk appends the namespace, as it does). The launcher mirrors it. */
export const DEFAULT_RUNTIME_ROOT = "/run/containerd/runc";
export const DEFAULT_CONFIG: ShimConfig = {
  grouping: "pod",
  binaryName: undefined,
  root: undefined,
  systemdCgroup: false,
  runtimeArgs: [],
  debug: false,
};

/** Where the configuration comes from: an explicit path must exist; the default path may be missing. */
export function configPathFor(
  explicit: string,
  env: NodeJS.ProcessEnv = process.env,
): { path: string; required: boolean } {
  if (explicit !== "") return { path: explicit, required: true };
  const fromEnv = env.HUSK_SHIM_CONFIG;
  if (fromEnv !== undefined && fromEnv !== "") return { path: fromEnv, required: true };
  return { path: DEFAULT_CONFIG_PATH, required: false };
}

/** Reads and validates the configuration; the TOML parser is loaded only when a file exists. */
export async function loadShimConfig(
  explicitPath: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ShimConfig> {
  const { path, required } = configPathFor(explicitPath, env);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && !required) return DEFAULT_CONFIG;
    throw notFound(`husk shim config "${path}" cannot be read`, error);
  }
  const { parse } = await import("smol-toml");
  let table: Record<string, unknown>;
  try {
    table = parse(text);
  } catch (error) {
    throw invalidArgument(`husk shim config "${path}" is not valid TOML`, error);
  }
  return parseShimConfig(table, path);
}

/** Validates a parsed TOML table. Unknown keys are errors: a typo must not silently change nothing. */
export function parseShimConfig(table: Record<string, unknown>, source: string): ShimConfig {
  const known = new Set(["grouping", "binary_name", "root", "systemd_cgroup", "runtime_args", "debug"]);
  for (const key of Object.keys(table)) {
    if (!known.has(key)) throw invalidArgument(`husk shim config "${source}": unknown key "${key}"`);
  }
  const grouping = table.grouping ?? DEFAULT_CONFIG.grouping;
  if (typeof grouping !== "string" || !GROUPINGS.includes(grouping as Grouping)) {
    throw invalidArgument(`husk shim config "${source}": grouping must be one of ${GROUPINGS.join(", ")}`);
  }
  const runtimeArgs = table.runtime_args ?? [];
  if (!Array.isArray(runtimeArgs) || !runtimeArgs.every((arg) => typeof arg === "string")) {
    throw invalidArgument(`husk shim config "${source}": runtime_args must be a list of strings`);
  }
  return {
    grouping: grouping as Grouping,
    binaryName: optionalString(table, "binary_name", source),
    root: optionalString(table, "root", source),
    systemdCgroup: optionalBool(table, "systemd_cgroup", source),
    runtimeArgs,
    debug: optionalBool(table, "debug", source),
  };
}

function optionalString(table: Record<string, unknown>, key: string, source: string): string | undefined {
  const value = table[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string")
    throw invalidArgument(`husk shim config "${source}": ${key} must be a string`);
  return value;
}

function optionalBool(table: Record<string, unknown>, key: string, source: string): boolean {
  const value = table[key] ?? false;
  if (typeof value !== "boolean")
    throw invalidArgument(`husk shim config "${source}": ${key} must be true or false`);
  return value;
}
