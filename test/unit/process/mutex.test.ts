import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Mutex } from "../../../src/process/index.js";
import { deferred, tick } from "./fake-runtime.js";

describe("Mutex", () => {
  it("runs tasks one at a time in FIFO order", async () => {
    const mutex = new Mutex();
    const order: string[] = [];
    const first = deferred<undefined>();
    const a = mutex.run(async () => {
      order.push("a start");
      await first.promise;
      order.push("a end");
      return "a";
    });
    const b = mutex.run(() => {
      order.push("b");
      return "b";
    });
    await tick();
    assert.deepEqual(order, ["a start"]);
    assert.equal(mutex.pending, 2);
    first.resolve(undefined);
    assert.deepEqual(await Promise.all([a, b]), ["a", "b"]);
    assert.deepEqual(order, ["a start", "a end", "b"]);
    await tick();
    assert.equal(mutex.locked, false);
  });

  it("releases after a task rejects or throws synchronously", async () => {
    const mutex = new Mutex();
    const failure = new Error("task failed");
    const a = mutex.run(() => Promise.reject(failure));
    const b = mutex.run(() => {
      throw failure;
    });
    const c = mutex.run(() => "c");
    const results = await Promise.allSettled([a, b, c]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["rejected", "rejected", "fulfilled"],
    );
    await tick();
    assert.equal(mutex.locked, false);
  });
});
