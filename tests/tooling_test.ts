/**
 * Guards the tooling itself: the suite runner lives in `scripts/`, and a file
 * there that `deno test` discovers would make the suite run itself recursively.
 *
 * @module
 */
import assert from "node:assert/strict";

/** `deno test`'s default file pattern: `{*_,*.,}test.{ts,tsx,mts,js,mjs,jsx}`. */
const DEFAULT_TEST_FILE = /(^|[_.])test\.(ts|tsx|mts|js|mjs|jsx)$/;

Deno.test("no script is discovered by deno test (the suite would run itself recursively)", () => {
  const scripts = new URL("../scripts/", import.meta.url);
  const discovered = [...Deno.readDirSync(scripts)]
    .filter((e) => e.isFile && DEFAULT_TEST_FILE.test(e.name))
    .map((e) => e.name);
  assert.deepEqual(discovered, []);
});

Deno.test("the pattern would have caught the old runner name", () => {
  assert.ok(DEFAULT_TEST_FILE.test("test.ts"));
  assert.ok(DEFAULT_TEST_FILE.test("queue_test.ts"));
  assert.ok(!DEFAULT_TEST_FILE.test("suite.ts"));
});
