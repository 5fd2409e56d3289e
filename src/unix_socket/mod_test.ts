import assert from "node:assert/strict";
import { tempDir } from "../../tests/support/mod.ts";
import type { SessionId } from "../../contract/ids.ts";
import { Http1Client } from "../../contract/http1_client.ts";
import { prepareSocketPath, removeSocket, SessionServers } from "./mod.ts";

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

Deno.test("a session's server keeps a connection for its next request; closing the session ends it at once", async () => {
  using dir = tempDir();
  const servers = new SessionServers("test");
  const seen: string[] = [];
  const socketPath = (session: string) => `${dir.path}/${session}/s.sock`;
  for (const session of ["ses_a", "ses_b"]) {
    await servers.open(session as SessionId, socketPath(session), () => {
      seen.push(session);
      return new Response(session);
    });
  }
  let connections = 0;
  const client = (session: string) =>
    new Http1Client({
      connect: () => {
        connections++;
        return Deno.connect({ transport: "unix", path: socketPath(session) });
      },
      target: "absolute",
    });
  using a = client("ses_a");
  using b = client("ses_b");
  const ask = async (c: Http1Client) => await (await c.fetch(new Request("http://h/"))).text();
  try {
    assert.deepEqual([await ask(a), await ask(a), await ask(b), await ask(a)], [
      "ses_a",
      "ses_a",
      "ses_b",
      "ses_a",
    ]);
    // One connection per socket: each kept for its own session's requests only.
    assert.equal(connections, 2);
    // A session closed with a connection kept idle (hibernation, a stop) does not wait for the client.
    // (Were it to wait, it would wait for the client, which only lets go at the end: the race names the hang.)
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error("closing the session waited on its idle connection")),
        10_000,
      );
    });
    await Promise.race([servers.close("ses_a" as SessionId), hung]).finally(() => clearTimeout(timer));
    await assert.rejects(ask(a));
    assert.equal(await ask(b), "ses_b");
    assert.deepEqual(seen, ["ses_a", "ses_a", "ses_b", "ses_a", "ses_b"]);
  } finally {
    await servers.closeAll();
  }
});
