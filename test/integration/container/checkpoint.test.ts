/**
 * Checkpoint goes through the runtime only where CRIU works. On a host where `criu check` fails (this project's CI
 * kernel) husk answers NotImplemented with CRIU's reason instead of a failed dump; where it works, the checkpoint image
 * is written and the container keeps running.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { checkpointUnsupportedReason } from "../../../src/container/checkpoint.js";
import { Code, isHuskError } from "../../../src/errors.js";
import { type Lab, openLab } from "../../support/lab.js";

describe("checkpoint", () => {
  let lab: Lab;
  before(async () => {
    lab = await openLab();
  });
  after(async () => {
    await lab.close();
  });

  it("checkpoints where CRIU works and answers NotImplemented where it does not", async () => {
    const c = await lab.create("ckpt", { args: ["sleep", "1000"] }, { stdio: {} });
    await c.start();
    const imagePath = join(lab.dir, "image");
    const reason = await checkpointUnsupportedReason();
    if (reason === undefined) {
      await c.checkpoint({ imagePath });
      assert.ok(existsSync(imagePath) && readdirSync(imagePath).length > 0, "an image was written");
      assert.equal(c.state().status, "running");
    } else {
      await assert.rejects(c.checkpoint({ imagePath }), (error: unknown) => {
        assert.ok(isHuskError(error));
        assert.equal(error.code, Code.Unimplemented);
        assert.match(error.message, /checkpoint is not supported on this host: criu/);
        return true;
      });
      assert.equal(c.state().status, "running", "the refusal changes nothing");
    }
    await c.delete({ force: true });
  });

  it("refuses to checkpoint a container that is not running", async () => {
    const c = await lab.create("ckpt-created", { args: ["true"] }, { stdio: {} });
    await assert.rejects(c.checkpoint({ imagePath: join(lab.dir, "nope") }), (error: unknown) =>
      isHuskError(error),
    );
    await c.delete();
  });
});
