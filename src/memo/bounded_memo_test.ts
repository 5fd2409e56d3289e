import assert from "node:assert/strict";
import { BoundedMemo } from "./mod.ts";

Deno.test("bounded memo: a key is looked up once until cleared; when full it forgets all before the next", () => {
  const memo = new BoundedMemo<string, string | undefined>(2);
  const asked: string[] = [];
  const lookup = (key: string) => (asked.push(key), key === "none" ? undefined : key.toUpperCase());
  assert.equal(memo.get("a", lookup), "A");
  assert.equal(memo.get("a", lookup), "A");
  assert.equal(memo.get("none", lookup), undefined);
  assert.equal(memo.get("none", lookup), undefined, "an undefined answer is remembered too");
  assert.deepEqual(asked, ["a", "none"]);
  assert.equal(memo.get("b", lookup), "B", "full: everything forgotten, then b remembered");
  assert.equal(memo.size, 1);
  assert.equal(memo.get("a", lookup), "A");
  memo.clear();
  assert.equal(memo.get("a", lookup), "A");
  assert.deepEqual(asked, ["a", "none", "b", "a", "a"]);
});
