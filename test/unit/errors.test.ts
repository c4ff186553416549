import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { Code, codeName, HuskError, isHuskError, notFound } from "../../src/errors.js";
import { VERSION } from "../../src/version.js";

describe("HuskError", () => {
  it("carries a code and is recognised by the brand", () => {
    const e = notFound('container "c1" not found');
    assert.equal(e.code, Code.NotFound);
    assert.equal(e.message, 'container "c1" not found');
    assert.ok(isHuskError(e));
    assert.ok(!isHuskError(new Error("x")));
    assert.equal(codeName(Code.FailedPrecondition), "FailedPrecondition");
  });

  it("maps syscall errors by errno and keeps the cause", () => {
    const enoent = Object.assign(new Error("open /x: no such file"), { code: "ENOENT" });
    const e = HuskError.from(enoent, "read spec");
    assert.equal(e.code, Code.NotFound);
    assert.equal(e.message, "read spec: open /x: no such file");
    assert.equal(e.cause, enoent);
    assert.equal(HuskError.from(Object.assign(new Error("x"), { code: "EEXIST" })).code, Code.AlreadyExists);
    assert.equal(HuskError.from("boom").code, Code.Unknown);
  });

  it("passes a HuskError through, adding context", () => {
    const inner = notFound("exec e1");
    assert.equal(HuskError.from(inner), inner);
    const outer = HuskError.from(inner, "kill");
    assert.equal(outer.code, Code.NotFound);
    assert.equal(outer.message, "kill: exec e1");
  });
});

describe("version", () => {
  it("matches package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    assert.equal(VERSION, pkg.version);
  });
});
