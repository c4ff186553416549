/**
 * What every command gets: the state root's layout, the global flags, where results are printed, and the helpers
 * that connect to the daemon on behalf of a command about one existing container.
 */
import { existsSync } from "node:fs";
import { Code, type HuskError, isHuskError, notFound, unavailable } from "../errors.js";
import { connectDaemon, type TaskClient } from "./daemon.js";
import type { RootLayout } from "./layout.js";

/** The environment of one CLI invocation. */
export interface CliContext {
  readonly layout: RootLayout;
  /** `--debug`: a daemon started now logs at debug level. */
  readonly debug: boolean;
  /** Where results are printed (process.stdout). */
  readonly out: NodeJS.WritableStream;
}

/**
 * Runs `action` with a Task client of the running daemon, for container `id`. Fails with NotFound when neither the
 * daemon nor the state root knows the container, Unavailable when its bundle exists but no daemon runs. The daemon's
 * own "not created" answer for `id` becomes the same NotFound message.
 */
export async function withContainer<T>(
  context: CliContext,
  id: string,
  action: (task: TaskClient) => Promise<T>,
): Promise<T> {
  const connection = await connectDaemon(context.layout, { start: false });
  if (connection === undefined) {
    if (existsSync(context.layout.bundle(id))) {
      throw unavailable(
        `container "${id}" cannot be reached: no husk daemon runs for ${context.layout.root}`,
      );
    }
    throw missingContainer(context, id);
  }
  try {
    return await action(connection.task);
  } catch (error) {
    throw isUnknownContainer(error, id) ? missingContainer(context, id, error) : error;
  } finally {
    await connection.close();
  }
}

/** NotFound for a container the daemon does not know: it does not exist, or only its directory is left. */
export function missingContainer(context: CliContext, id: string, cause?: unknown): HuskError {
  return existsSync(context.layout.bundle(id))
    ? notFound(
        `container "${id}" is not known to the husk daemon (its bundle is left: husk delete ${id})`,
        cause,
      )
    : notFound(`container "${id}" does not exist`, cause);
}

/** True for the daemon's NotFound about container `id` itself (not about one of its execs or processes). */
export function isUnknownContainer(error: unknown, id: string): boolean {
  return (
    isHuskError(error) &&
    error.code === Code.NotFound &&
    (error.message === `container "${id}" not created` || error.message === `container "${id}" not found`)
  );
}

/** True for a HuskError of `code`. */
export function hasCode(error: unknown, code: Code): error is HuskError {
  return isHuskError(error) && error.code === code;
}

/** Writes `text` and waits until it is handed to the OS (so a following exit loses nothing). */
export function print(out: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(text, (error) => {
      if (error === null || error === undefined) resolve();
      else reject(error);
    });
  });
}
