// Starts the reaper: this file is its own process.
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Code, isHuskError } from "../../../src/errors.js";
import {
  type Child,
  getReaper,
  pipe,
  runCommand,
  setCloseOnExec,
  signalNumber,
  spawn,
} from "../../../src/sys/index.js";
import { childrenOfSelf, eventually, openFdCount, parseFdListing, withTimeout } from "./helpers.js";

const TIMEOUT_MS = 20_000;
let fdsBefore = 0;
let scratch = "";

before(async () => {
  await spawn({ file: "/bin/true" }).exit;
  scratch = mkdtempSync(join(tmpdir(), "husk-spawn-"));
  fdsBefore = openFdCount();
});

after(() => {
  rmSync(scratch, { recursive: true, force: true });
  assert.equal(openFdCount(), fdsBefore, "fd count after the tests equals the count before");
  assert.deepEqual(
    childrenOfSelf().filter((c) => c.state === "Z"),
    [],
    "no zombie children",
  );
});

/** Reads a blocking pipe's read end to EOF and closes it (the writer is a short-lived child). */
function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(65536);
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, n)));
    }
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks).toString();
}

describe("spawn", () => {
  it("delivers every exit of 200 spawns in a tight loop exactly once", async () => {
    const reaper = getReaper();
    const children: Child[] = [];
    for (let i = 0; i < 200; i++) children.push(spawn({ file: "/bin/true" }));
    assert.equal(new Set(children.map((c) => c.pid)).size, 200);
    assert.ok(reaper.waiting >= 1);
    const exits = await withTimeout(Promise.all(children.map((c) => c.exit)), TIMEOUT_MS, "200 exits");
    for (const [i, exit] of exits.entries()) {
      assert.equal(exit.pid, children[i]?.pid);
      assert.equal(exit.status, 0);
    }
    assert.equal(reaper.waiting, 0);
  });

  it("encodes exit codes and signals like containerd", async () => {
    assert.equal((await spawn({ file: "/bin/sh", args: ["-c", "exit 42"] }).exit).status, 42);

    const killed = spawn({ file: "sleep", args: ["30"] });
    killed.kill("SIGKILL");
    const k = await withTimeout(killed.exit, TIMEOUT_MS, "SIGKILL exit");
    assert.equal(k.status, 137);
    assert.equal(k.signal, 9);

    const terminated = spawn({ file: "sleep", args: ["30"] });
    terminated.kill();
    const t = await withTimeout(terminated.exit, TIMEOUT_MS, "SIGTERM exit");
    assert.equal(t.status, 143);
    assert.equal(t.signal, signalNumber("TERM"));
    terminated.kill("SIGKILL"); // after the exit: ignored, never signals a recycled pid
  });

  it("keeps the event loop alive while an exit is awaited, and only then", async () => {
    const sys = new URL("../../../src/sys/index.js", import.meta.url).href;
    const waiting = `import { spawn } from ${JSON.stringify(sys)};
const child = spawn({ file: "sleep", args: ["0.3"] });
const exit = await child.exit;
process.stdout.write("exited " + exit.status);`;
    const kept = await runCommand(process.execPath, ["--input-type=module", "-e", waiting]);
    assert.equal(kept.stdout.toString(), "exited 0");
    assert.equal(kept.status, 0);

    const idle = `import { getReaper } from ${JSON.stringify(sys)};
getReaper();
process.stdout.write("idle");`;
    const done = await runCommand(process.execPath, ["--input-type=module", "-e", idle], {
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    assert.equal(done.stdout.toString(), "idle");
    assert.equal(done.status, 0);
  });

  it("throws NotFound synchronously for a missing executable", async () => {
    assert.throws(
      () => spawn({ file: "husk-no-such-binary" }),
      (e: unknown) =>
        isHuskError(e) &&
        e.code === Code.NotFound &&
        e.message === 'executable "husk-no-such-binary" not found',
    );
    const missing = join(scratch, "missing");
    assert.throws(
      () => spawn({ file: missing }),
      (e: unknown) =>
        isHuskError(e) &&
        e.code === Code.NotFound &&
        e.message === `executable "${missing}" not found` &&
        (e.cause as { code?: string }).code === "ENOENT",
    );
    // The failed children's exits are swallowed: nobody is left waiting once they were reaped.
    await eventually(() => getReaper().waiting === 0, TIMEOUT_MS, "failed children reaped");
  });

  it("throws PermissionDenied for a file that is not executable", () => {
    const file = join(scratch, "not-executable");
    writeFileSync(file, "#!/bin/sh\nexit 0\n", { mode: 0o644 });
    assert.throws(
      () => spawn({ file }),
      (e: unknown) =>
        isHuskError(e) &&
        e.code === Code.PermissionDenied &&
        (e.cause as { code?: string }).code === "EACCES",
    );
  });

  it("maps exactly the given fds, as real pipes, and nothing else", async () => {
    const [outRead, outWrite] = pipe();
    const [extraRead, extraWrite] = pipe();
    const stray = openSync(fileURLToPath(import.meta.url), "r");
    setCloseOnExec(stray, false); // even an inheritable fd of ours must not leak into the child
    let child: Child;
    try {
      child = spawn({
        file: "/bin/sh",
        // find runs as a child of sh and lists sh's own fds.
        args: ["-c", "find /proc/$$/fd -mindepth 1 -printf '%f %l\\n'"],
        fds: ["null", outWrite, "null", extraRead, undefined, extraWrite],
      });
    } finally {
      closeSync(outWrite);
      closeSync(stray);
    }
    const listing = parseFdListing(readAll(outRead));
    closeSync(extraRead);
    closeSync(extraWrite);
    await withTimeout(child.exit, TIMEOUT_MS, "exit");
    assert.deepEqual([...listing.keys()].sort(), [0, 1, 2, 3, 5]);
    assert.equal(listing.get(0), "/dev/null");
    assert.equal(listing.get(2), "/dev/null");
    assert.match(listing.get(1) ?? "", /^pipe:\[\d+\]$/);
    assert.equal(listing.get(3), listing.get(5), "both ends of one pipe");
    assert.match(listing.get(3) ?? "", /^pipe:\[\d+\]$/);
  });

  it("maps a pipe whose source fd collides with a target fd", async () => {
    const [outRead, outWrite] = pipe();
    // Swap-like map: child fd 1 gets our fd outWrite, child fd outWrite gets /dev/null.
    const fds: ("null" | number | undefined)[] = ["null", outWrite, "null"];
    fds[outWrite] = "null";
    const child = spawn({ file: "/bin/sh", args: ["-c", "echo through"], fds });
    closeSync(outWrite);
    assert.equal(readAll(outRead), "through\n");
    assert.equal((await withTimeout(child.exit, TIMEOUT_MS, "exit")).status, 0);
  });

  it("resets SIGPIPE and every other disposition and clears the mask", async () => {
    // cat is our direct child: its status shows exactly what spawn left it (no shell in between).
    const status = await runCommand("cat", ["/proc/self/status"]);
    assert.match(status.stdout.toString(), /\nSigBlk:\s+0{16}\n/);
    assert.match(status.stdout.toString(), /\nSigIgn:\s+0{16}\n/);
    // yes dies of SIGPIPE (141) once head exits; with SIGPIPE ignored it would fail with EPIPE (1).
    const pipeline = await runCommand("/bin/sh", ["-c", '(yes; echo "yes exited $?" >&2) | head -1']);
    assert.equal(pipeline.status, 0);
    assert.equal(pipeline.stdout.toString(), "y\n");
    assert.equal(pipeline.stderr.toString(), "yes exited 141\n");
  });

  it("sets cwd, env, argv0, setsid and setpgid", async () => {
    const res = await runCommand(
      "/bin/sh",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
      ["-c", 'pwd; echo "$HUSK_TEST"; echo "${SKIPPED-unset}" "${HOME-unset}"'],
      {
        cwd: scratch,
        env: { HUSK_TEST: "value 1", SKIPPED: undefined },
      },
    );
    assert.equal(res.stdout.toString(), `${scratch}\nvalue 1\nunset unset\n`);

    const [r, w] = pipe();
    const session = spawn({
      file: "/bin/sh",
      args: ["-c", "cut -d' ' -f1,5,6 /proc/$$/stat"],
      fds: ["null", w, "null"],
      setsid: true,
    });
    closeSync(w);
    const line = readAll(r).trim().split(/\s+/).map(Number);
    await session.exit;
    assert.equal(line[0], session.pid);
    assert.deepEqual(line, [session.pid, session.pid, session.pid], "pid, pgid and sid are equal");

    const [r2, w2] = pipe();
    const group = spawn({
      file: "/bin/sh",
      args: ["-c", 'echo "$0"; cut -d" " -f5 /proc/$$/stat'],
      argv0: "custom-argv0",
      fds: ["null", w2, "null"],
      setpgid: true,
    });
    closeSync(w2);
    const [argv0, pgid] = readAll(r2).trim().split("\n");
    await group.exit;
    assert.equal(argv0, "custom-argv0");
    assert.equal(Number(pgid), group.pid);
  });

  it("sets the parent-death signal (default SIGKILL, null disables)", async () => {
    const grab = async (pdeathsig?: NodeJS.Signals | null): Promise<string> => {
      const [r, w] = pipe();
      // python reads its own PR_GET_PDEATHSIG.
      const code = "import ctypes;v=ctypes.c_int();ctypes.CDLL(None).prctl(2,ctypes.byref(v));print(v.value)";
      const child = spawn({
        file: "python3",
        args: ["-c", code],
        fds: ["null", w, "null"],
        ...(pdeathsig === undefined ? {} : { pdeathsig }),
      });
      closeSync(w);
      const out = readAll(r).trim();
      await child.exit;
      return out;
    };
    assert.equal(await grab(), "9");
    assert.equal(await grab("SIGTERM"), "15");
    assert.equal(await grab(null), "0");
  });

  it("rejects a bad fd in the map with InvalidArgument", async () => {
    assert.throws(
      () => spawn({ file: "/bin/true", fds: ["null", 987_654, "null"] }),
      (e: unknown) =>
        isHuskError(e) && e.code === Code.InvalidArgument && (e.cause as { code?: string }).code === "EBADF",
    );
    assert.throws(
      () => spawn({ file: "/bin/true", fds: ["null", -3, "null"] }),
      (e: unknown) => isHuskError(e) && e.code === Code.InvalidArgument,
    );
    await eventually(() => getReaper().waiting === 0, TIMEOUT_MS, "failed child reaped");
  });
});
