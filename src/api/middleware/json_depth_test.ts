import assert from "node:assert/strict";
import { jsonDepth } from "./json_depth.ts";

const depth = (text: string) => jsonDepth(new TextEncoder().encode(text));

Deno.test("jsonDepth counts nesting outside strings only", () => {
  assert.equal(depth("1"), 0);
  assert.equal(depth("{}"), 1);
  assert.equal(depth('{"a":[1,{"b":[]}],"c":{}}'), 4);
  assert.equal(depth('{"a":"[[[[{{{{"}'), 1, "brackets in strings do not count");
  assert.equal(depth('{"a":"\\"[[[["}'), 1, "an escaped quote does not end the string");
  assert.equal(depth('{"a":"\\\\"}'), 1, "an escaped backslash does");
  assert.equal(depth("[".repeat(50) + "]".repeat(50)), 50);
});
