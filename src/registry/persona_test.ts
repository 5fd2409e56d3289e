import assert from "node:assert/strict";
import { MAX_PERSONA_SECTION_BYTES } from "../../contract/changes.ts";
import { composePersona, truncateUtf8 } from "./mod.ts";

const bytes = (s: string) => new TextEncoder().encode(s).length;

Deno.test("composePersona renders identity, soul, instructions in order, a blank line apart", () => {
  assert.equal(
    composePersona({ instructions: "Use tools.\n", identity: "  I am Ada.", soul: "Warm." }),
    "### Identity\nI am Ada.\n\n### Soul\nWarm.\n\n### Instructions\nUse tools.",
  );
});

Deno.test("composePersona skips blank documents and is empty when all are", () => {
  assert.equal(
    composePersona({ identity: "", soul: " \n ", instructions: "Be brief." }),
    "### Instructions\nBe brief.",
  );
  assert.equal(composePersona({}), "");
});

Deno.test("composePersona cuts each section to its byte limit on a character boundary", () => {
  const persona = composePersona({ identity: "€".repeat(1000), soul: "a" + "😀".repeat(600) });
  const [identity, soul] = persona.split("\n\n").map((s) => s.slice(s.indexOf("\n") + 1));
  assert.equal(identity, "€".repeat(682)); // 2046 bytes: a 683rd euro sign would need 2049
  assert.equal(soul, "a" + "😀".repeat(511)); // 2045 bytes
  for (const body of [identity, soul]) assert.ok(bytes(body) <= MAX_PERSONA_SECTION_BYTES);
  assert.ok(!persona.includes("\uFFFD"));
});

Deno.test("truncateUtf8 keeps text that fits and never splits a character", () => {
  assert.equal(truncateUtf8("héllo", 6), "héllo");
  assert.equal(truncateUtf8("héllo", 2), "h");
  assert.equal(truncateUtf8("héllo", 3), "hé");
  assert.equal(truncateUtf8("😀", 3), "");
});
