import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  failureMessage,
  lastErrorMessage,
  logFileSize,
  MAX_LOG_TAIL_BYTES,
  readLogTail,
} from "../../../src/oci/runtime-log.js";

const dir = mkdtempSync(join(tmpdir(), "husk-oci-log-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

// Lines as runc 1.1.5 and crun 1.8.1 write them (observed on this machine).
const RUNC_LINE =
  '{"level":"error","msg":"runc create failed: container with given ID already exists","time":"2026-11-30T03:18:41Z"}';
const CRUN_LINE =
  '{"msg":"container `c1` already exists","level":"error","time":"2026-11-30T03:19:02.427083Z"}';
const RUNC_DEBUG_LINE =
  '{"level":"debug","msg":"nsexec-1[7019]: forward stage-1 (7020) and stage-2 (7021) pids to their parents","time":"2026-11-30T03:18:41Z"}';
const RUNC_STDERR =
  'time="2026-11-30T03:18:51Z" level=warning msg="mount destination rel is not absolute."\n' +
  'time="2026-11-30T03:19:13Z" level=error msg="runc create failed: unable to start container process: exec: \\"/nosuch\\": stat /nosuch: no such file or directory"\n';

describe("lastErrorMessage", () => {
  it("takes the msg of the last error line in runc's and crun's key orders", () => {
    assert.equal(
      lastErrorMessage(`${RUNC_LINE}\n`),
      "runc create failed: container with given ID already exists",
    );
    assert.equal(lastErrorMessage(`${CRUN_LINE}\n`), "container `c1` already exists");
    assert.equal(
      lastErrorMessage(`${RUNC_LINE}\n${RUNC_DEBUG_LINE}\n${CRUN_LINE}\n${RUNC_DEBUG_LINE}\n`),
      "container `c1` already exists",
    );
  });

  it("ignores non-error levels, malformed lines and plain text", () => {
    assert.equal(lastErrorMessage(`${RUNC_DEBUG_LINE}\n{"level":"error"\nnot json\n`), undefined);
    assert.equal(lastErrorMessage('{"level":"warning","msg":"x"}'), undefined);
    assert.equal(lastErrorMessage(""), undefined);
  });

  it("reads logrus text lines and unquotes Go strings", () => {
    assert.equal(
      lastErrorMessage(RUNC_STDERR),
      'runc create failed: unable to start container process: exec: "/nosuch": stat /nosuch: no such file or directory',
    );
    assert.equal(lastErrorMessage("time=x level=error msg=oops"), "oops");
    assert.equal(lastErrorMessage('time=x level=fatal msg="bad \\x00 byte"'), "bad x00 byte");
  });
});

describe("log file tail", () => {
  it("reports size 0 for a missing file and reads only what was appended", async () => {
    const path = join(dir, "log.json");
    assert.equal(await logFileSize(path), 0);
    assert.equal(await readLogTail(path, 0), "");
    writeFileSync(path, `${RUNC_LINE}\n`);
    const before = await logFileSize(path);
    assert.equal(before, RUNC_LINE.length + 1);
    assert.equal(await readLogTail(path, before), "");
    appendFileSync(path, `${CRUN_LINE}\n`);
    const tail = await readLogTail(path, before);
    assert.equal(tail, `${CRUN_LINE}\n`);
    assert.equal(lastErrorMessage(tail), "container `c1` already exists");
  });

  it("rereads from the start when the file shrank and caps the tail size", async () => {
    const path = join(dir, "shrunk.json");
    writeFileSync(path, `${CRUN_LINE}\n`);
    assert.equal(await readLogTail(path, 10_000), `${CRUN_LINE}\n`);
    const big = join(dir, "big.json");
    writeFileSync(big, "x".repeat(MAX_LOG_TAIL_BYTES + 100));
    assert.equal((await readLogTail(big, 0)).length, MAX_LOG_TAIL_BYTES);
  });
});

describe("failureMessage", () => {
  it("prefers the log, then stderr, then the exit status", () => {
    const base = { status: 1, signal: undefined };
    assert.equal(
      failureMessage({ ...base, logText: `${CRUN_LINE}\n`, stderr: "other" }),
      "container `c1` already exists",
    );
    assert.equal(
      failureMessage({ ...base, logText: RUNC_DEBUG_LINE, stderr: "  the container is not using cgroups\n" }),
      "the container is not using cgroups",
    );
    assert.equal(
      failureMessage({ ...base, logText: "", stderr: RUNC_STDERR }).startsWith("runc create failed"),
      true,
    );
    assert.equal(failureMessage({ ...base, logText: "", stderr: "" }), "exit status 1");
    assert.equal(failureMessage({ logText: "", stderr: "", status: 137, signal: 9 }), "killed by signal 9");
  });
});
