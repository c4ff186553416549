/**
 * Entry point of `containerd-shim-husk-v2`. Only the flag parser is loaded up front: `start` must be quick and
 * print nothing but the address, so each mode imports what it needs when it runs.
 */
import { FlagError, parseShimFlags } from "./flags.js";

async function main(): Promise<number> {
  const flags = parseShimFlags(process.argv.slice(2));
  if (flags.version) {
    const { VERSION } = await import("../version.js");
    process.stdout.write(
      `containerd-shim-husk-v2:\n  Version:  ${VERSION}\n  Runtime:  io.containerd.husk.v2\n`,
    );
    return 0;
  }
  switch (flags.action) {
    case "start": {
      const { runStart } = await import("./start.js");
      const address = await runStart(flags, await readStdin());
      await write(process.stdout, address);
      return 0;
    }
    case "delete": {
      const { runDelete } = await import("./delete.js");
      const response = await runDelete(flags, (line) => process.stderr.write(`${line}\n`));
      await write(process.stdout, response);
      return 0;
    }
    case "": {
      const { runDaemon } = await import("./daemon.js");
      await runDaemon(flags);
      return -1; // keeps running
    }
    default:
      throw new FlagError(`unknown action "${flags.action}" (expected start or delete)`);
  }
}

/** start's stdin: the options Any, or nothing (/dev/null, or a closed pipe). */
async function readStdin(): Promise<Uint8Array> {
  if (process.stdin.isTTY) return new Uint8Array();
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function write(stream: NodeJS.WriteStream, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (error) => {
      if (error !== undefined && error !== null) {
        reject(error);
        return;
      }
      resolve();
    });
  });
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(
      `containerd-shim-husk-v2: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
