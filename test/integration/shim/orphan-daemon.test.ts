/**
 * A shim daemon that never gets a container (containerd died between `start` and Create) does not linger: with no
 * container and no connection for two checks it exits and removes its socket. The check interval is shortened through
 * HUSK_SHIM_ORPHAN_CHECK_MS; everything else is the real `containerd-shim-husk-v2 start` as containerd runs it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { repoRoot } from "../../e2e/support/runtime.js";

describe("an orphaned shim daemon", () => {
  const dir = mkdtempSync(join(tmpdir(), "husk-orphan-"));
  let daemonPid = 0;
  after(() => {
    if (daemonPid > 0 && existsSync(`/proc/${daemonPid}`)) process.kill(daemonPid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("exits by itself when it has neither containers nor connections", async () => {
    const bundle = join(dir, "bundle");
    spawnSync("mkdir", ["-p", bundle]);
    writeFileSync(join(bundle, "config.json"), JSON.stringify({ annotations: {} }));
    const id = `orphan-${process.pid}`;
    const started = spawnSync(
      join(repoRoot(), "bin/containerd-shim-husk-v2"),
      [
        "-namespace",
        "orphan-test",
        "-address",
        join(dir, "containerd.sock"),
        "-publish-binary",
        "/bin/true",
        "-id",
        id,
        "start",
      ],
      {
        cwd: bundle,
        input: "",
        env: { ...process.env, HUSK_SHIM_ORPHAN_CHECK_MS: "200", HUSK_SHIM_CONFIG: "" },
      },
    );
    assert.equal(started.status, 0, started.stderr.toString());
    const address = started.stdout.toString().trim();
    assert.match(address, /^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/);
    const socket = address.slice("unix://".length);
    daemonPid = Number(readFileSync(join(bundle, "shim.pid"), "utf8"));
    assert.ok(daemonPid > 0 && existsSync(`/proc/${daemonPid}`), "a daemon was started");
    assert.ok(existsSync(socket));
    const deadline = Date.now() + 20_000;
    while (
      existsSync(`/proc/${daemonPid}`) &&
      !readFileSync(`/proc/${daemonPid}/stat`, "utf8").includes(") Z ")
    ) {
      assert.ok(Date.now() < deadline, `daemon ${daemonPid} is still running`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(!existsSync(socket), "the daemon removed its socket");
  });
});
