import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  exitStatusFromWait,
  INTERNAL_START_FAILURE,
  isStopSignal,
  isValidSignal,
  signalNumber,
  signalOfExitStatus,
} from "../../../src/process/index.js";

describe("exit status", () => {
  it("reports the exit code of a normal exit", () => {
    assert.equal(exitStatusFromWait({ code: 0, signal: null }), 0);
    assert.equal(exitStatusFromWait({ code: 3 }), 3);
    assert.equal(exitStatusFromWait({}), 0);
  });

  it("reports 128 + N for a process killed by signal N, given as number or name", () => {
    assert.equal(exitStatusFromWait({ code: null, signal: 9 }), 137);
    assert.equal(exitStatusFromWait({ signal: "SIGTERM" }), 143);
    assert.equal(exitStatusFromWait({ code: 0, signal: "SIGHUP" }), 129);
    assert.equal(exitStatusFromWait({ signal: "SIGNOPE" }), 128);
  });

  it("maps names to numbers and statuses back to signals", () => {
    assert.equal(signalNumber("SIGKILL"), 9);
    assert.equal(signalNumber(15), 15);
    assert.equal(signalOfExitStatus(137), 9);
    assert.equal(signalOfExitStatus(INTERNAL_START_FAILURE), undefined);
    assert.equal(signalOfExitStatus(1), undefined);
    assert.equal(signalOfExitStatus(200), undefined);
  });

  it("treats only SIGKILL and SIGTERM as stop signals", () => {
    const stops = Array.from({ length: 65 }, (_, n) => n).filter(isStopSignal);
    assert.deepEqual(stops, [9, 15]);
  });

  it("accepts integer signals 0..64 only", () => {
    assert.ok(isValidSignal(0) && isValidSignal(64) && isValidSignal(9));
    assert.ok(!isValidSignal(-1) && !isValidSignal(65) && !isValidSignal(1.5) && !isValidSignal(Number.NaN));
  });
});
