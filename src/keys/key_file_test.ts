import assert from "node:assert/strict";
import { join } from "node:path";
import { parseSessionKeyFile } from "../../contract/cipher.ts";
import { fixedKey, tempDir } from "../../tests/support/mod.ts";
import { writeKeyFile } from "./key_file.ts";

Deno.test("the hand-off file is 64 lower-case hex, mode 0600, and parses back to the key", async () => {
  using dir = tempDir();
  const path = join(dir.path, "session.key");
  const key = fixedKey(0xab);
  await writeKeyFile(path, key);
  assert.equal(await Deno.readTextFile(path), "ab".repeat(32));
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.deepEqual(parseSessionKeyFile(await Deno.readFile(path)), key);
});

Deno.test("writing a hand-off file replaces an existing one whole, as a fresh 0600 file", async () => {
  using dir = tempDir();
  const path = join(dir.path, "session.key");
  await Deno.writeTextFile(
    path,
    "old content that is longer than sixty-four characters, by quite some margin",
    {
      mode: 0o644,
    },
  );
  await Deno.chmod(path, 0o644);
  await writeKeyFile(path, fixedKey(0x11));
  assert.equal(await Deno.readTextFile(path), "11".repeat(32));
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["session.key"]);
});
