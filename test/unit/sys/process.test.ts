// Does not start the reaper.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import { signalName, signalNumber } from "../../../src/sys/index.js";

describe("signalNumber", () => {
  it("accepts names with or without SIG, any case, decimal strings and numbers", () => {
    for (const input of ["TERM", "SIGTERM", "term", "sigterm", "15", 15, " SIGTERM "]) {
      assert.equal(signalNumber(input), 15, String(input));
    }
    assert.equal(signalNumber("KILL"), 9);
    assert.equal(signalNumber("SIGHUP"), 1);
    assert.equal(signalNumber("USR1"), 10);
    assert.equal(signalNumber("SIGCHLD"), 17);
    assert.equal(signalNumber("IOT"), 6);
    assert.equal(signalNumber("SIGWINCH"), 28);
    assert.equal(signalNumber("SIGRTMIN"), 34);
    assert.equal(signalNumber("RTMIN+3"), 37);
    assert.equal(signalNumber("SIGRTMAX-1"), 63);
    assert.equal(signalNumber("SIGRTMAX"), 64);
    assert.equal(signalNumber(0), 0);
  });

  it("rejects unknown signals with InvalidArgument", () => {
    for (const input of ["SIGFOO", "", "RTMIN+40", "-1", "1.5", 65, -1, 2.5, "0x9"]) {
      assert.throws(
        () => signalNumber(input),
        (e: unknown) =>
          isHuskError(e) && e.code === Code.InvalidArgument && e.message === `unknown signal "${input}"`,
        String(input),
      );
    }
  });
});

describe("signalName", () => {
  it("gives canonical names", () => {
    assert.equal(signalName(15), "SIGTERM");
    assert.equal(signalName(9), "SIGKILL");
    assert.equal(signalName(6), "SIGABRT");
    assert.equal(signalName(29), "SIGIO");
    assert.equal(signalName(34), "SIGRTMIN");
    assert.equal(signalName(36), "SIGRTMIN+2");
    assert.equal(signalName(64), "SIGRTMAX");
  });

  it("round-trips with signalNumber for 1..64", () => {
    for (let n = 1; n <= 64; n++) {
      if (n === 32 || n === 33) continue; // reserved by glibc, no name
      assert.equal(signalNumber(signalName(n)), n);
    }
  });

  it("rejects numbers without a name with InvalidArgument", () => {
    for (const n of [0, 32, 65, -1, 1.5]) {
      assert.throws(
        () => signalName(n),
        (e: unknown) => isHuskError(e) && e.code === Code.InvalidArgument,
      );
    }
  });
});
