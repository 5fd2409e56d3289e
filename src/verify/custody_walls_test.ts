import assert from "node:assert/strict";
import { tempDir } from "../../tests/support/mod.ts";
import { KeyCustodian, MASTER_KEY_FILE, STATE_DB_KEY_ID } from "../keys/mod.ts";
import { keyCustodyWall } from "./custody_walls.ts";

Deno.test("key-custody falls under file custody and for a plain copy beside a wrapped key, and holds once protected", async () => {
  using dir = tempDir();
  const custodian = await KeyCustodian.open(dir.path);
  await custodian.getOrCreate(STATE_DB_KEY_ID);
  const plain = await keyCustodyWall(dir.path);
  assert.equal(plain.held, false);
  assert.match(plain.detail, /file custody: the master key is plaintext .*ironclaw keys protect/);

  Deno.copyFileSync(`${dir.path}/${MASTER_KEY_FILE}`, `${dir.path}/${MASTER_KEY_FILE}.bak`);
  await custodian.protect("correct horse battery", { scryptLog2N: 14 });
  const copied = await keyCustodyWall(dir.path);
  assert.equal(copied.held, false);
  assert.match(copied.detail, /a plain master key lies in .*host-master\.key\.bak/);

  Deno.removeSync(`${dir.path}/${MASTER_KEY_FILE}.bak`);
  const held = await keyCustodyWall(dir.path);
  assert.equal(held.held, true, held.detail);
  assert.match(held.detail, /without the passphrase and with a wrong one is refused/);
});

Deno.test("key-custody with no installation checks a fresh passphrase-custody directory", async () => {
  using dir = tempDir();
  const wall = await keyCustodyWall(`${dir.path}/none`);
  assert.equal(wall.held, true, wall.detail);
  assert.match(wall.detail, /^a fresh state directory \(no installation at .*none\)/);
});
