import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import { readPidFile, removePidFile } from "../../../src/oci/pid-file.js";

const dir = mkdtempSync(join(tmpdir(), "husk-oci-pid-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("readPidFile", () => {
  it("reads runc's bare pid and tolerates whitespace", async () => {
    const path = join(dir, "a.pid");
    writeFileSync(path, "6868");
    assert.equal(await readPidFile(path), 6868);
    writeFileSync(path, " 12\n");
    assert.equal(await readPidFile(path), 12);
  });

  it("rejects missing files and non-pids", async () => {
    await assert.rejects(
      readPidFile(join(dir, "missing.pid")),
      (e: unknown) => isHuskError(e) && e.code === Code.NotFound,
    );
    const path = join(dir, "bad.pid");
    for (const content of ["", "abc", "0", "-5", "12 13", "99999999", "1.5"]) {
      writeFileSync(path, content);
      await assert.rejects(
        readPidFile(path),
        (e: unknown) => isHuskError(e) && e.code === Code.Unknown,
        content,
      );
    }
  });

  it("removes stale files and ignores missing ones", async () => {
    const path = join(dir, "stale.pid");
    writeFileSync(path, "1");
    await removePidFile(path);
    assert.equal(existsSync(path), false);
    await removePidFile(path);
  });
});
