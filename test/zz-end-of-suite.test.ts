/**
 * Runs after every other test file (it sorts last) and fails the suite if any of them left something behind: a temp
 * dir of a test harness, a runtime container, a husk daemon, a dead shim socket, a mount, a zombie. Every test file
 * cleans up after itself; this is the net under them.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

/** Temp dir prefixes of husk's test harnesses (lab, e2e, cli, oci, cgroups, sys, benchmarks). */
const HARNESS_PREFIX = /^husk-/;
/** Caches that are meant to outlive a run: Debian's containerd protos, the Go interop build and its Go build cache. */
const CACHES = /^husk-(containerd-protos-[0-9a-f]+|ttrpc-go-[0-9a-f]+|go-build-cache)$/;
const SHIM_SOCKETS = "/run/containerd/s";

function procs(): { pid: number; ppid: number; state: string; cmdline: string }[] {
  const list = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      list.push({ pid: Number(entry), ppid: Number(rest[1]), state: rest[0] ?? "", cmdline });
    } catch {
      // exited meanwhile
    }
  }
  return list;
}

function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.once("connect", () => {
      done(true);
    });
    socket.once("error", () => {
      done(false);
    });
  });
}

describe("end of suite: nothing left behind", () => {
  it("no harness temp dir remains", () => {
    const left = readdirSync(tmpdir()).filter(
      (name) =>
        HARNESS_PREFIX.test(name) && !CACHES.test(name) && statSync(join(tmpdir(), name)).isDirectory(),
    );
    assert.deepEqual(left, [], `left in ${tmpdir()}`);
  });

  it("no husk daemon and no runtime process of a test is alive", () => {
    const husk = procs().filter(
      (p) => p.pid !== process.pid && /shim\/main\.js|containerd-shim-husk-v2|bin\/husk /.test(p.cmdline),
    );
    assert.deepEqual(husk, [], "husk processes still running");
  });

  it("no zombie is left (a missed reap)", () => {
    // Give a parent that is reaping right now a moment; a real leak stays.
    const zombies = procs().filter((p) => p.state === "Z");
    if (zombies.length > 0) execFileSync("sleep", ["1"]);
    const still = procs().filter((p) => p.state === "Z" && zombies.some((z) => z.pid === p.pid));
    assert.deepEqual(still, [], "zombies");
  });

  it("no dead shim socket is left under /run/containerd/s", async () => {
    if (!existsSync(SHIM_SOCKETS)) return;
    const dead: string[] = [];
    for (const name of readdirSync(SHIM_SOCKETS)) {
      const path = join(SHIM_SOCKETS, name);
      if (statSync(path).isSocket() && !(await isListening(path))) dead.push(path);
    }
    assert.deepEqual(dead, []);
  });

  it("no runtime container remains in containerd's default runc roots", () => {
    const root = "/run/containerd/runc";
    if (!existsSync(root)) return;
    const left = readdirSync(root).flatMap((ns) =>
      existsSync(join(root, ns)) ? readdirSync(join(root, ns)).map((id) => `${ns}/${id}`) : [],
    );
    assert.deepEqual(left, [], `containers left under ${root}`);
  });

  it("no mount is left under the temp dir", () => {
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[4] ?? "")
      .filter((point) => point.startsWith(`${tmpdir()}/husk-`));
    assert.deepEqual(mounts, []);
  });
});
