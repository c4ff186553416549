import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Command,
  DEFAULT_ROOT,
  isUsageError,
  parseBytes,
  parseCommandLine,
  parseCommandWord,
  parseUser,
  splitAtFirstPositional,
  stateRootFrom,
  type UsageError,
} from "../../../src/cli/args.js";
import { Code, isHuskError } from "../../../src/errors.js";

function parse(...argv: string[]): Command {
  return parseCommandLine(argv).command;
}

/** Asserts that parsing fails with a UsageError whose message matches, and returns it. */
function usageError(argv: readonly string[], pattern: RegExp): UsageError {
  let caught: unknown;
  try {
    parseCommandLine(argv);
  } catch (error) {
    caught = error;
  }
  assert.ok(
    isUsageError(caught),
    `expected a usage error for ${JSON.stringify(argv)}, got ${String(caught)}`,
  );
  assert.match(caught.message, pattern);
  assert.doesNotMatch(caught.message, /\n/);
  return caught;
}

/** Asserts that parsing fails with an InvalidArgument HuskError (not a usage error) matching `pattern`. */
function invalid(argv: readonly string[], pattern: RegExp): void {
  assert.throws(
    () => parseCommandLine(argv),
    (error: unknown) =>
      isHuskError(error) &&
      !isUsageError(error) &&
      error.code === Code.InvalidArgument &&
      pattern.test(error.message),
  );
}

describe("cli args: global options and the command word", () => {
  it("reads --root in both spellings and --debug before the command", () => {
    assert.deepEqual(parseCommandWord(["--root", "/r", "--debug", "list", "--json"]), {
      global: { root: "/r", debug: true },
      name: "list",
      rest: ["--json"],
    });
    assert.equal(parseCommandWord(["--root=/x", "state", "a"]).global.root, "/x");
  });

  it("resolves the aliases ls and rm", () => {
    assert.equal(parseCommandWord(["ls"]).name, "list");
    assert.equal(parseCommandWord(["rm", "x"]).name, "delete");
  });

  it("answers help for no command, --help and help TOPIC; version for --version and -v", () => {
    assert.deepEqual(parse(), { name: "help", topic: undefined });
    assert.deepEqual(parse("--help"), { name: "help", topic: undefined });
    assert.deepEqual(parse("help", "exec"), { name: "help", topic: "exec" });
    assert.deepEqual(parse("help", "rm"), { name: "help", topic: "delete" });
    assert.deepEqual(parse("--version"), { name: "version" });
    assert.deepEqual(parse("-v"), { name: "version" });
    assert.deepEqual(parse("version"), { name: "version" });
    assert.deepEqual(parse("state", "--help"), { name: "help", topic: "state" });
    assert.deepEqual(parse("run", "-h"), { name: "help", topic: "run" });
  });

  it("rejects an unknown command or global flag as a usage error with the program's usage line", () => {
    const command = usageError(["frobnicate"], /^unknown command "frobnicate"$/);
    assert.equal(command.command, undefined);
    assert.match(command.usage, /^usage: husk /);
    usageError(["--bogus", "list"], /^unknown option "--bogus"$/);
    usageError(["--root"], /--root/);
  });

  it("picks the state root from --root, then HUSK_ROOT, then /run/husk", () => {
    assert.equal(stateRootFrom("/a", { HUSK_ROOT: "/b" }), "/a");
    assert.equal(stateRootFrom(undefined, { HUSK_ROOT: "/b" }), "/b");
    assert.equal(stateRootFrom(undefined, { HUSK_ROOT: "" }), DEFAULT_ROOT);
    assert.equal(stateRootFrom(undefined, {}), "/run/husk");
  });
});

describe("cli args: run", () => {
  it("takes everything after ROOTFS and -- as the container's command, flags included", () => {
    const command = parse("run", "--rm", "/rootfs", "--", "sh", "-c", "echo --rm -d; exit 7");
    assert.ok(command.name === "run");
    assert.equal(command.rootfs, "/rootfs");
    assert.deepEqual(command.args, ["sh", "-c", "echo --rm -d; exit 7"]);
    assert.equal(command.remove, true);
    assert.equal(command.detach, false);
    assert.equal(command.id, undefined);
  });

  it("accepts the command without -- and stops reading flags at ROOTFS", () => {
    const command = parse("run", "rootfs", "ls", "-l", "--name", "x");
    assert.ok(command.name === "run");
    assert.deepEqual(command.args, ["ls", "-l", "--name", "x"]);
    assert.equal(command.id, undefined);
  });

  it("reads every option, grouped short flags and repeated --env", () => {
    const command = parse(
      "run",
      "-dt",
      "--runtime",
      "crun",
      "--memory",
      "64m",
      "--pids-limit=20",
      "-e",
      "A=1",
      "--env",
      "B=x=y",
      "--cwd",
      "/tmp",
      "--user",
      "1000:1001",
      "--hostname",
      "box",
      "--name",
      "web-1",
      "/r",
      "--",
      "sleep",
      "1",
    );
    assert.deepEqual(command, {
      name: "run",
      runtime: "crun",
      remove: false,
      detach: true,
      tty: true,
      interactive: false,
      limits: { memoryBytes: 64 * 1024 * 1024, pidsLimit: 20 },
      env: ["A=1", "B=x=y"],
      cwd: "/tmp",
      user: { uid: 1000, gid: 1001 },
      hostname: "box",
      id: "web-1",
      rootfs: "/r",
      args: ["sleep", "1"],
    });
  });

  it("lets a value-taking flag consume a value that looks like a positional", () => {
    const command = parse("run", "--name", "c1", "-e", "K=V", "rootfs", "true");
    assert.ok(command.name === "run");
    assert.equal(command.id, "c1");
    assert.equal(command.rootfs, "rootfs");
    assert.deepEqual(command.args, ["true"]);
  });

  it("takes ROOTFS after a leading -- too", () => {
    const command = parse("run", "-i", "--", "/r", "cat");
    assert.ok(command.name === "run");
    assert.equal(command.interactive, true);
    assert.equal(command.rootfs, "/r");
    assert.deepEqual(command.args, ["cat"]);
  });

  it("rejects unknown flags, a missing ROOTFS or command, and conflicting flags as usage errors", () => {
    const unknown = usageError(["run", "--bogus", "/r", "--", "true"], /^unknown option "--bogus"$/);
    assert.equal(unknown.command, "run");
    assert.match(unknown.usage, /^usage: husk run /);
    usageError(["run"], /needs ROOTFS and a command/);
    usageError(["run", "/r"], /needs a command after ROOTFS/);
    usageError(["run", "/r", "--"], /needs a command after ROOTFS/);
    usageError(["run", "--name"], /option "--name" needs a value/);
    usageError(["run", "--rm", "-d", "/r", "true"], /--rm.*-d/);
    usageError(["run", "-i", "-d", "/r", "true"], /-i.*-d/);
    usageError(["run", "--rm=yes", "/r", "true"], /--rm/);
  });

  it("rejects invalid values as InvalidArgument, naming them", () => {
    invalid(["run", "--name", "../x", "/r", "true"], /container id "\.\.\/x" is invalid/);
    invalid(["run", "--name", "a/b", "/r", "true"], /container id/);
    invalid(["run", "--memory", "lots", "/r", "true"], /--memory "lots" is invalid/);
    invalid(["run", "--memory", "0", "/r", "true"], /--memory/);
    invalid(["run", "--pids-limit=-3", "/r", "true"], /--pids-limit "-3" is invalid/);
    invalid(["run", "--pids-limit", "1.5", "/r", "true"], /--pids-limit/);
    invalid(["run", "--env", "NOVALUE", "/r", "true"], /--env "NOVALUE" is invalid/);
    invalid(["run", "--env", "=v", "/r", "true"], /--env/);
    invalid(["run", "--cwd", "relative", "/r", "true"], /--cwd "relative" must be an absolute path/);
    invalid(["run", "--user", "bob", "/r", "true"], /--user "bob" is invalid/);
    invalid(["run", "--runtime=", "/r", "true"], /--runtime/);
    invalid(["run", "/r", "--", ""], /command must not be empty/);
  });
});

describe("cli args: exec", () => {
  it("reads flags, the id and the command after --", () => {
    assert.deepEqual(
      parse("exec", "-ti", "-e", "X=1", "--cwd", "/", "-u", "7", "c1", "--", "sh", "-c", "echo hi"),
      {
        name: "exec",
        tty: true,
        interactive: true,
        detach: false,
        env: ["X=1"],
        cwd: "/",
        user: { uid: 7, gid: 0 },
        id: "c1",
        args: ["sh", "-c", "echo hi"],
      },
    );
  });

  it("rejects a bad id, a missing command and unknown flags", () => {
    invalid(["exec", "../x", "--", "true"], /container id/);
    usageError(["exec", "c1"], /needs a command after ID/);
    usageError(["exec", "--rm", "c1", "true"], /unknown option "--rm"/);
  });
});

describe("cli args: the other commands", () => {
  it("parses list, state, ps, pause, resume, stats and delete", () => {
    assert.deepEqual(parse("list"), { name: "list", json: false });
    assert.deepEqual(parse("ls", "--json"), { name: "list", json: true });
    assert.deepEqual(parse("state", "c1"), { name: "state", id: "c1" });
    assert.deepEqual(parse("ps", "c1", "--json"), { name: "ps", id: "c1", json: true });
    assert.deepEqual(parse("pause", "c1"), { name: "pause", id: "c1" });
    assert.deepEqual(parse("resume", "c1"), { name: "resume", id: "c1" });
    assert.deepEqual(parse("stats", "c1"), { name: "stats", id: "c1" });
    assert.deepEqual(parse("delete", "c1"), { name: "delete", id: "c1", force: false });
    assert.deepEqual(parse("rm", "-f", "c1"), { name: "delete", id: "c1", force: true });
    assert.deepEqual(parse("delete", "c1", "--force"), { name: "delete", id: "c1", force: true });
  });

  it("parses kill with a default TERM, names with or without SIG, numbers, and --all anywhere", () => {
    assert.deepEqual(parse("kill", "c1"), { name: "kill", id: "c1", signal: 15, all: false });
    assert.deepEqual(parse("kill", "c1", "KILL"), { name: "kill", id: "c1", signal: 9, all: false });
    assert.deepEqual(parse("kill", "c1", "SIGUSR1", "--all"), {
      name: "kill",
      id: "c1",
      signal: 10,
      all: true,
    });
    assert.deepEqual(parse("kill", "--all", "c1", "2"), { name: "kill", id: "c1", signal: 2, all: true });
  });

  it("rejects an unknown signal as InvalidArgument naming it", () => {
    invalid(["kill", "c1", "BOGUS"], /unknown signal "BOGUS"/);
    invalid(["kill", "c1", "99"], /unknown signal/);
  });

  it("rejects missing or extra operands and invalid ids", () => {
    usageError(["state"], /state needs a container id/);
    usageError(["state", "a", "b"], /unexpected argument "b"/);
    usageError(["kill", "a", "TERM", "extra"], /unexpected argument "extra"/);
    usageError(["list", "extra"], /unexpected argument "extra"/);
    usageError(["delete", "--now", "a"], /unknown option "--now"/);
    invalid(["state", "../etc"], /container id/);
    invalid(["delete", "-f", "a b"], /container id/);
  });
});

describe("cli args: value parsers", () => {
  it("parses byte sizes with binary units", () => {
    assert.equal(parseBytes("1048576"), 1048576);
    assert.equal(parseBytes("512k"), 512 * 1024);
    assert.equal(parseBytes("64M"), 64 * 1024 * 1024);
    assert.equal(parseBytes("2gb"), 2 * 1024 ** 3);
    assert.equal(parseBytes("1b"), 1);
    for (const bad of ["", "m", "1.5g", "-1", "10x", "0k"]) assert.throws(() => parseBytes(bad), /--memory/);
  });

  it("parses numeric users with the group defaulting to 0", () => {
    assert.deepEqual(parseUser("0"), { uid: 0, gid: 0 });
    assert.deepEqual(parseUser("1000:100"), { uid: 1000, gid: 100 });
    assert.deepEqual(parseUser("4294967295:4294967295"), { uid: 4294967295, gid: 4294967295 });
    for (const bad of ["", "root", "1:", ":1", "1:2:3", "4294967296", "-1"]) {
      assert.throws(() => parseUser(bad), /--user/, bad);
    }
  });

  it("splits at the first positional, honouring value-taking flags and --", () => {
    const options = {
      name: { type: "string" },
      env: { type: "string", short: "e" },
      tty: { type: "boolean", short: "t" },
    } as const;
    assert.deepEqual(splitAtFirstPositional(["-t", "--name", "n", "r", "c"], options), {
      head: ["-t", "--name", "n"],
      tail: ["r", "c"],
      afterDashDash: false,
    });
    assert.deepEqual(splitAtFirstPositional(["-te", "A=1", "r"], options), {
      head: ["-te", "A=1"],
      tail: ["r"],
      afterDashDash: false,
    });
    assert.deepEqual(splitAtFirstPositional(["-eA=1", "--name=n", "r"], options), {
      head: ["-eA=1", "--name=n"],
      tail: ["r"],
      afterDashDash: false,
    });
    assert.deepEqual(splitAtFirstPositional(["-t", "--", "r", "--name"], options), {
      head: ["-t"],
      tail: ["r", "--name"],
      afterDashDash: true,
    });
    assert.deepEqual(splitAtFirstPositional(["-", "x"], options), {
      head: [],
      tail: ["-", "x"],
      afterDashDash: false,
    });
  });
});
