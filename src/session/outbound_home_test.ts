import assert from "node:assert/strict";
import { tempDir } from "../../tests/support/mod.ts";
import { homeOutbound } from "./outbound_home.ts";

Deno.test("an outbound directory moves to its bounded home behind a symlink, its files kept", () => {
  using dir = tempDir();
  const out = `${dir.path}/sessions/s1/out`;
  const home = `${dir.path}/volume/.outbox/s1`;
  Deno.mkdirSync(out, { recursive: true, mode: 0o700 });
  Deno.writeTextFileSync(`${out}/outbound.db`, "rows", { mode: 0o600 });
  homeOutbound(out, home);
  assert.ok(Deno.lstatSync(out).isSymlink);
  assert.equal(Deno.realPathSync(out), Deno.realPathSync(home));
  assert.equal(Deno.readTextFileSync(`${out}/outbound.db`), "rows");
  assert.equal(Deno.statSync(`${home}/outbound.db`).mode! & 0o777, 0o600);
  assert.equal(Deno.statSync(`${dir.path}/volume/.outbox`).mode! & 0o777, 0o711);
  homeOutbound(out, home); // idempotent
  assert.equal(Deno.readTextFileSync(`${out}/outbound.db`), "rows");
  assert.deepEqual([...Deno.readDirSync(`${dir.path}/sessions/s1`)].map((e) => e.name), ["out"]);
});

Deno.test("a move interrupted between its renames is finished by the next call", () => {
  using dir = tempDir();
  const out = `${dir.path}/s1/out`;
  const home = `${dir.path}/home/s1`;
  Deno.mkdirSync(home, { recursive: true });
  Deno.writeTextFileSync(`${home}/outbound.db`, "copied");
  // The crash: the old directory renamed away, the symlink not yet in place.
  Deno.mkdirSync(`${out}.moved`, { recursive: true });
  Deno.symlinkSync(home, `${out}.link`);
  homeOutbound(out, home);
  assert.equal(Deno.readTextFileSync(`${out}/outbound.db`), "copied");
  assert.deepEqual([...Deno.readDirSync(`${dir.path}/s1`)].map((e) => e.name), ["out"]);
});

Deno.test("a fresh session gets the symlink before anything is written", () => {
  using dir = tempDir();
  const out = `${dir.path}/s1/out`;
  Deno.mkdirSync(`${dir.path}/s1`);
  homeOutbound(out, `${dir.path}/home/s1`);
  Deno.writeTextFileSync(`${out}/outbound.db`, "new");
  assert.equal(Deno.readTextFileSync(`${dir.path}/home/s1/outbound.db`), "new");
});
