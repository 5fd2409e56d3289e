import assert from "node:assert/strict";
import fc from "fast-check";
import { InvalidInputError } from "../state/mod.ts";
import { namespaceUserId } from "./mod.ts";

Deno.test("namespaceUserId cuts the handle at its first ':' and trims", () => {
  assert.equal(namespaceUserId("slack", "evil:owner"), "slack:evil");
  assert.equal(namespaceUserId(" slack ", " ann "), "slack:ann");
  assert.equal(namespaceUserId("telegram", " u1 :slack:owner"), "telegram:u1");
});

Deno.test("namespaceUserId refuses handles that leave no valid id", () => {
  for (const handle of [":owner", "", "  ", "two words", "a\u0007b"]) {
    assert.throws(() => namespaceUserId("slack", handle), InvalidInputError, JSON.stringify(handle));
  }
  assert.throws(() => namespaceUserId("Bad Channel", "ann"), InvalidInputError);
});

Deno.test("namespaceUserId never keeps a spoofed namespace", () => {
  fc.assert(fc.property(fc.string().filter((s) => !s.includes(":")), fc.string(), (handle, spoof) => {
    let id: string;
    try {
      id = namespaceUserId("slack", `${handle}:${spoof}`);
    } catch (err) {
      return err instanceof InvalidInputError;
    }
    return id === `slack:${handle.trim()}` && id.split(":").length === 2;
  }));
});
