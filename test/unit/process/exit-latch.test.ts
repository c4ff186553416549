import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ExitLatch } from "../../../src/process/exit-latch.js";
import { tick } from "./fake-runtime.js";

describe("ExitLatch", () => {
  it("keeps the first exit and answers every waiter with it", async () => {
    const latch = new ExitLatch();
    const early = latch.wait();
    const pending = Symbol("pending");
    assert.equal(await Promise.race([early, tick().then(() => pending)]), pending);
    const firstAt = new Date(1);
    assert.equal(latch.record({ status: 3, exitedAt: firstAt }), true);
    assert.equal(latch.record({ status: 4, exitedAt: new Date(2) }), false);
    assert.deepEqual(latch.exit, { status: 3, exitedAt: firstAt });
    assert.equal(await early, latch.exit);
    assert.equal(await latch.wait(), latch.exit);
    assert.ok(Object.isFrozen(latch.exit));
  });
});
