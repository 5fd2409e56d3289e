import assert from "node:assert/strict";
import { tempDir } from "../../tests/support/mod.ts";
import { prepareSocketPath, removeSocket } from "./mod.ts";

/** A socket file nobody listens on, as a crashed host leaves behind. */
function staleSocket(path: string): void {
  const listener = Deno.listen({ transport: "unix", path: `${path}.live` });
  Deno.linkSync(`${path}.live`, path);
  listener.close();
}

Deno.test("the parent directory is created 0700", async () => {
  using dir = tempDir();
  await prepareSocketPath(`${dir.path}/a/b/x.sock`);
  assert.equal(Deno.statSync(`${dir.path}/a/b`).mode! & 0o777, 0o700);
});

Deno.test("a stale socket is removed, anything else refused", async () => {
  using dir = tempDir();
  const path = `${dir.path}/x.sock`;
  staleSocket(path);
  await prepareSocketPath(path);
  assert.throws(() => Deno.lstatSync(path), Deno.errors.NotFound);

  Deno.writeTextFileSync(path, "precious");
  await assert.rejects(prepareSocketPath(path), /not a socket/);
  assert.equal(Deno.readTextFileSync(path), "precious");
});

Deno.test("removing a socket that is already gone is fine", async () => {
  using dir = tempDir();
  const path = `${dir.path}/x.sock`;
  staleSocket(path);
  await removeSocket(path);
  await removeSocket(path);
  assert.throws(() => Deno.lstatSync(path), Deno.errors.NotFound);
});
