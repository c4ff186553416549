/**
 * Which containerd runtime the end-to-end scenarios drive. Chosen by the `E2E_RUNTIME` environment variable:
 * `io.containerd.husk.v2` (the default, used by CI), `io.containerd.runc.v2` (containerd's own shim, the reference), or
 * an absolute path to any shim binary. Scenarios take a {@link E2eRuntime} so that one file can run them for both.
 */
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Runtime name of husk's shim. */
export const HUSK_RUNTIME = "io.containerd.husk.v2";
/** Runtime name of containerd's reference shim. */
export const RUNC_RUNTIME = "io.containerd.runc.v2";

/** A runtime as `ctr run --runtime` takes it, plus what the scenarios need to know about it. */
export interface E2eRuntime {
  /** Passed verbatim to `ctr run --runtime`: a dotted name or an absolute path. */
  readonly name: string;
  /** The shim binary's file name, e.g. `containerd-shim-runc-v2`. */
  readonly binaryName: string;
  /** `husk` when the binary is husk's shim, else `runc` (containerd's shim and anything else). */
  readonly flavour: "husk" | "runc";
  /** Absolute path of the shim binary as containerd will resolve it (repo `bin/` first, then PATH). */
  readonly absolutePath: string;
}

/** The repository root: the nearest ancestor of this file holding husk's package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown };
      if (parsed.name === "husk") return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the husk repository root above the e2e support code");
    dir = parent;
  }
}

/**
 * Shim binary name for a dotted runtime name: the last two parts joined as `containerd-shim-<a>-<b>`.
 * Counterpart: containerd `runtime/v2/shim/util.go` BinaryName.
 */
export function shimBinaryName(runtimeName: string): string {
  if (isAbsolute(runtimeName)) return runtimeName.slice(runtimeName.lastIndexOf("/") + 1);
  const parts = runtimeName.split(".");
  if (parts.length < 2) throw new Error(`runtime name "${runtimeName}" has fewer than two dotted parts`);
  return `containerd-shim-${parts.at(-2) ?? ""}-${parts.at(-1) ?? ""}`;
}

/** The PATH containerd gets: the repo's `bin/` first so `io.containerd.husk.v2` resolves to our shim. */
export function containerdPath(): string {
  return [join(repoRoot(), "bin"), process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"].join(delimiter);
}

function findExecutable(binaryName: string): string {
  for (const dir of containerdPath().split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, binaryName);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  throw new Error(`shim binary "${binaryName}" not found on ${containerdPath()}`);
}

/** Describes a runtime given as a dotted name or an absolute shim path. Throws if the binary cannot be found. */
export function describeRuntime(name: string): E2eRuntime {
  const binaryName = shimBinaryName(name);
  const absolutePath = isAbsolute(name) ? name : findExecutable(binaryName);
  return {
    name,
    binaryName,
    flavour: binaryName === "containerd-shim-husk-v2" ? "husk" : "runc",
    absolutePath,
  };
}

/** The runtime selected by `E2E_RUNTIME` (default {@link HUSK_RUNTIME}). */
export function selectedRuntime(): E2eRuntime {
  const fromEnv = process.env.E2E_RUNTIME;
  return describeRuntime(fromEnv === undefined || fromEnv === "" ? HUSK_RUNTIME : fromEnv);
}

/** The same shim addressed by its absolute path, for the "runtime given as a path" smoke run. */
export function byAbsolutePath(runtime: E2eRuntime): E2eRuntime {
  return describeRuntime(runtime.absolutePath);
}
