/**
 * Pid files written by `runtime create/exec --pid-file`: the bare decimal pid, without a trailing
 * newline for runc and crun (process-model §2.2).
 */
import { readFile, rm } from "node:fs/promises";
import { errnoOf, HuskError, notFound, unknownError } from "../errors.js";

/** Largest pid Linux hands out (PID_MAX_LIMIT, 2^22). */
export const MAX_PID = 4_194_304;

/**
 * Reads a pid file: trims whitespace and requires a decimal integer in 1..{@link MAX_PID}.
 * Throws NotFound when the file is missing, Unknown when it holds anything else.
 * containerd counterpart: `runc.ReadPidFile` in go-runc.
 */
export async function readPidFile(path: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (errnoOf(error) === "ENOENT") throw notFound(`pid file ${JSON.stringify(path)} does not exist`, error);
    throw HuskError.from(error, `read pid file ${JSON.stringify(path)}`);
  }
  const trimmed = text.trim();
  const pid = /^\d{1,7}$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!(pid >= 1 && pid <= MAX_PID)) {
    throw unknownError(
      `pid file ${JSON.stringify(path)} holds ${JSON.stringify(trimmed.slice(0, 40))}, not a pid`,
    );
  }
  return pid;
}

/** Removes a stale pid file so that a failed create cannot leave an old pid to be read. */
export async function removePidFile(path: string): Promise<void> {
  await rm(path, { force: true });
}
