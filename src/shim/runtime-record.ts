/**
 * The runtime a container was created with, saved in its bundle at Create so that the `delete` subcommand — which
 * runs after the daemon is gone, with nothing but flags and the bundle — can remove the runtime container.
 *
 * containerd counterpart: runtime/v2/runc/container.go `WriteOptions` / `WriteRuntime` (options.json, runtime).
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const RUNTIME_RECORD_FILE = "runtime.json";

export interface RuntimeRecord {
  readonly binary: string;
  readonly root: string;
  readonly systemdCgroup: boolean;
  readonly globalArgs: readonly string[];
}

export async function writeRuntimeRecord(bundle: string, record: RuntimeRecord): Promise<void> {
  const path = join(bundle, RUNTIME_RECORD_FILE);
  await writeFile(`${path}.tmp`, JSON.stringify(record), { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

/** The record, or undefined when Create never got that far. */
export async function readRuntimeRecord(bundle: string): Promise<RuntimeRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(bundle, RUNTIME_RECORD_FILE), "utf8")) as RuntimeRecord;
  } catch {
    return undefined;
  }
}
