/**
 * husk as a library: run a command in a container built from a root filesystem, stream its output, get its exit
 * status. `node dist/examples/run-container.js ROOTFS CMD...` (as root). The README shows this file.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSupervisor, writeBundle } from "../src/index.js";

export async function runInContainer(
  rootfs: string,
  args: string[],
): Promise<{ status: number; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), "husk-example-"));
  const supervisor = createSupervisor({ stateDir: join(dir, "state") });
  try {
    // An OCI bundle: config.json next to (not copying) the root filesystem, with limits.
    const { dir: bundle } = await writeBundle(join(dir, "bundle"), {
      rootfs,
      args,
      limits: { memoryBytes: 256 << 20, pidsLimit: 100 },
    });
    const container = await supervisor.create({
      id: "example",
      bundle,
      stdio: { stdout: { kind: "pipe" }, stderr: { kind: "pipe" } },
    });
    supervisor.subscribe((event) => {
      console.error(`event: ${event.type}`);
    });
    let output = "";
    container.io.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    container.io.stderr?.pipe(process.stderr);
    await container.start();
    const exit = await container.wait(); // after the output has drained
    await container.delete();
    return { status: exit.status, output };
  } finally {
    await supervisor.close(); // force-deletes anything still there
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith("run-container.js") === true) {
  const [rootfs, ...args] = process.argv.slice(2);
  if (rootfs === undefined || args.length === 0) {
    console.error("usage: run-container ROOTFS CMD...");
    process.exit(2);
  }
  const { status, output } = await runInContainer(rootfs, args);
  process.stdout.write(output);
  process.exit(status);
}
