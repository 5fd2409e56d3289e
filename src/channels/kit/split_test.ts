import assert from "node:assert/strict";
import fc from "fast-check";
import { splitMessage } from "./split.ts";

Deno.test("split: short text is one piece; long text breaks at lines, then spaces, then hard", () => {
  assert.deepEqual(splitMessage("hello", 4096), ["hello"]);
  assert.deepEqual(splitMessage("aaaa\nbbbb\ncc", 10), ["aaaa\nbbbb", "cc"]);
  assert.deepEqual(splitMessage("aaaa bbbb cccc", 10), ["aaaa bbbb", "cccc"]);
  assert.deepEqual(splitMessage("abcdefghijkl", 5), ["abcde", "fghij", "kl"]);
  assert.deepEqual(splitMessage("x".repeat(4096), 4096).length, 1);
  assert.deepEqual(splitMessage("x".repeat(4097), 4096).map((p) => p.length), [4096, 1]);
  assert.deepEqual(splitMessage("  \n  ", 4096), [], "nothing but whitespace sends nothing");
});

Deno.test("split: a surrogate pair is never cut in half", () => {
  const pieces = splitMessage("a😀😀", 2);
  assert.deepEqual(pieces, ["a", "😀", "😀"]);
});

Deno.test("split: pieces fit, and only dropped break characters are missing (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom("word", " ", "\n", "😀", "long-token-without-spaces"), { maxLength: 400 }),
      fc.integer({ min: 8, max: 64 }),
      (parts, limit) => {
        const text = parts.join("");
        const pieces = splitMessage(text, limit);
        for (const p of pieces) {
          assert.ok(p.length <= limit);
          assert.ok(p.trim() !== "");
          assert.ok(!/[\ud800-\udbff]$/.test(p), "no dangling high surrogate");
        }
        // Every non-whitespace character survives, in order.
        assert.equal(pieces.join("").replace(/\s/g, ""), text.replace(/\s/g, ""));
      },
    ),
  );
});
