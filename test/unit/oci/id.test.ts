import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, isHuskError } from "../../../src/errors.js";
import { isValidContainerId, MAX_CONTAINER_ID_LENGTH, validateContainerId } from "../../../src/oci/id.js";

function assertInvalid(id: string): void {
  assert.throws(
    () => validateContainerId(id),
    (error: unknown) => isHuskError(error) && error.code === Code.InvalidArgument,
    `expected ${JSON.stringify(id)} to be rejected`,
  );
  assert.equal(isValidContainerId(id), false);
}

describe("validateContainerId", () => {
  it("accepts alphanumerics joined by single separators, up to 76 characters", () => {
    for (const id of [
      "c1",
      "a",
      "web.1",
      "my_container-2",
      "A1.b2_c3-d4",
      "x".repeat(MAX_CONTAINER_ID_LENGTH),
    ]) {
      assert.equal(validateContainerId(id), id);
      assert.equal(isValidContainerId(id), true);
    }
  });

  it("rejects path tricks, empty and over-long ids", () => {
    for (const id of ["", "../x", "a/b", ".", "..", "x".repeat(MAX_CONTAINER_ID_LENGTH + 1)])
      assertInvalid(id);
  });

  it("rejects leading, trailing and doubled separators and other characters", () => {
    for (const id of ["-a", "a-", ".a", "a.", "_a", "a__b", "a.-b", "a b", "a:b", "ä", "a\nb"])
      assertInvalid(id);
  });

  it("names the problem in the message", () => {
    assert.throws(() => validateContainerId(""), /must not be empty/);
    assert.throws(() => validateContainerId("x".repeat(77)), /77 characters long, the limit is 76/);
    assert.throws(() => validateContainerId("../x"), /container id "\.\.\/x" is invalid/);
  });
});
