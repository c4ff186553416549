import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isStopSignal, isValidSignal } from "../../../src/process/index.js";

describe("exit status", () => {
  it("treats only SIGKILL and SIGTERM as stop signals", () => {
    const stops = Array.from({ length: 65 }, (_, n) => n).filter(isStopSignal);
    assert.deepEqual(stops, [9, 15]);
  });

  it("accepts integer signals 0..64 only", () => {
    assert.ok(isValidSignal(0) && isValidSignal(64) && isValidSignal(9));
    assert.ok(!isValidSignal(-1) && !isValidSignal(65) && !isValidSignal(1.5) && !isValidSignal(Number.NaN));
  });
});
