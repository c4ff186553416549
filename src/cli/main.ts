/**
 * Entry point of the `husk` command (`bin/husk`): runs the CLI and exits with its status once stdout and stderr are
 * flushed. Every failure ends as one line `husk: <message>`, never a stack trace — an uncaught error, and also a
 * broken installation whose modules fail to load (hence the dynamic import).
 */

const argv = process.argv.slice(2);

/** Until the CLI module is loaded: the status of a failure of husk itself (125 for run and exec, else 1). */
let failureStatus = argv.some((arg) => arg === "run" || arg === "exec") ? 125 : 1;
let report = (error: unknown): void => {
  process.stderr.write(`husk: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}\n`);
};

function crash(error: unknown): void {
  report(error);
  process.exit(failureStatus);
}
process.on("uncaughtException", crash);
process.on("unhandledRejection", crash);

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

async function main(): Promise<number> {
  const cli = await import("./cli.js");
  failureStatus = cli.failureStatusOf(argv);
  report = cli.reportError;
  return cli.runCli(argv);
}

main().then(async (status) => {
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(status);
}, crash);
