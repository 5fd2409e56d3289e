import assert from "node:assert/strict";
import { canonicalize, canonicalJson } from "./json.ts";

Deno.test("canonical JSON sorts keys at every depth", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }),
    `{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}`,
  );
  assert.equal(canonicalize(`{ "b" : 1,"a":2 }`), `{"a":2,"b":1}`);
  assert.throws(() => canonicalJson({ x: NaN }));
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => canonicalJson(cyclic));
});
