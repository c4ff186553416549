/**
 * Where the CLI keeps things under its state root (`--root`, `HUSK_ROOT`, default `/run/husk`):
 *
 * - `husk.sock`: the daemon's ttrpc socket; `daemon.log`: the daemon's stderr (JSON lines), appended;
 * - `containers/<id>/`: one bundle per container — config.json, the stdio FIFOs, `output.log` of detached runs,
 *   and what the daemon writes there (pid files, the runtime's log);
 * - `runtime/`: the OCI runtime's state root; the daemon appends the namespace, so runc's `--root` is
 *   `runtime/husk`.
 */
import { join, resolve } from "node:path";

/** The daemon namespace the CLI uses (the shim's `-namespace`). */
export const CLI_NAMESPACE = "husk";
/** The daemon id the CLI uses (the shim's `-id`); only a label in the daemon's logs. */
export const CLI_DAEMON_ID = "husk-cli";

/** Paths under one state root. All absolute. */
export interface RootLayout {
  readonly root: string;
  readonly socket: string;
  readonly daemonLog: string;
  readonly containers: string;
  /** What the CLI passes as the runtime root; the daemon uses `<runtimeBase>/<namespace>`. */
  readonly runtimeBase: string;
  /** The OCI runtime's actual `--root` (for people and tests). */
  readonly runtimeRoot: string;
  /** The bundle directory of container `id` (not validated here). */
  bundle(id: string): string;
}

/** The layout under `root` (resolved against the current directory). */
export function rootLayout(root: string): RootLayout {
  const absolute = resolve(root);
  const containers = join(absolute, "containers");
  const runtimeBase = join(absolute, "runtime");
  return {
    root: absolute,
    socket: join(absolute, "husk.sock"),
    daemonLog: join(absolute, "daemon.log"),
    containers,
    runtimeBase,
    runtimeRoot: join(runtimeBase, CLI_NAMESPACE),
    bundle: (id) => join(containers, id),
  };
}
