/**
 * Entry point of the `husk` command (`bin/husk`): runs {@link runCli} and exits with its status once stdout and stderr
 * are flushed. An uncaught error still ends as one line `husk: <message>`, never a stack trace.
 */
import { failureStatusOf, reportError, runCli } from "./cli.js";

const argv = process.argv.slice(2);

/** Exits once stdout and stderr have been handed to the OS. */
async function exitWith(status: number): Promise<never> {
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(status);
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) {
      resolve();
      return;
    }
    stream.write("", () => {
      resolve();
    });
  });
}

// A bug must still end as one line, never a stack trace.
const crash = (error: unknown): void => {
  reportError(error);
  process.exit(failureStatusOf(argv));
};
process.on("uncaughtException", crash);
process.on("unhandledRejection", crash);

void runCli(argv).then(exitWith);
