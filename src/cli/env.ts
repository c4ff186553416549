/**
 * Environments of container processes: what `--env` adds to. A run's `--env` entries go on top of the default
 * environment (PATH, and TERM with a terminal), an exec's on top of the container's own process environment, so that
 * `--env X=1` never loses PATH.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_PATH_ENV } from "../oci/spec.js";

/** The environment a container gets by default (what the spec builder uses when given none). */
export function defaultEnv(terminal: boolean): string[] {
  return terminal ? [DEFAULT_PATH_ENV, "TERM=xterm"] : [DEFAULT_PATH_ENV];
}

/** `base` with `extra` applied: an entry of `extra` replaces the entry of `base` with the same key, in place. */
export function mergeEnv(base: readonly string[], extra: readonly string[]): string[] {
  const keyOf = (entry: string): string => {
    const at = entry.indexOf("=");
    return at === -1 ? entry : entry.slice(0, at);
  };
  const merged = [...base];
  for (const entry of extra) {
    const at = merged.findIndex((existing) => keyOf(existing) === keyOf(entry));
    if (at === -1) merged.push(entry);
    else merged[at] = entry;
  }
  return merged;
}

/** The environment of a bundle's init process (`config.json` `process.env`); the default one if unreadable. */
export async function bundleEnv(bundle: string, terminal: boolean): Promise<string[]> {
  try {
    const spec = JSON.parse(await readFile(join(bundle, "config.json"), "utf8")) as {
      process?: { env?: unknown };
    };
    const env = spec.process?.env;
    if (Array.isArray(env) && env.every((entry) => typeof entry === "string")) return env;
  } catch {
    // A bundle without a readable spec: fall back to the default.
  }
  return defaultEnv(terminal);
}
