import assert from "node:assert/strict";
import { DOORBELL } from "../../contract/sockets.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { Doorbell } from "./mod.ts";

/** A started doorbell whose outbound rings resolve `nextOutbound()`. */
async function startBell(path: string) {
  let calls = 0;
  let wake = () => {};
  const bell = new Doorbell(path, {
    onOutbound: () => {
      calls++;
      wake();
    },
  });
  await bell.start();
  return {
    bell,
    calls: () => calls,
    nextOutbound: () => new Promise<void>((resolve) => wake = resolve),
  };
}

/** An agent connection, known to the host once its outbound ring has been heard. */
async function connectAgent(path: string, heard: Promise<void>): Promise<Deno.UnixConn> {
  const conn = await Deno.connect({ transport: "unix", path });
  await conn.write(new Uint8Array([DOORBELL.outbound]));
  await heard;
  return conn;
}

async function readByte(conn: Deno.UnixConn): Promise<number> {
  const buffer = new Uint8Array(1);
  assert.equal(await conn.read(buffer), 1);
  return buffer[0];
}

Deno.test("agents hear a ring; the host hears theirs, coalesced", async () => {
  using dir = tempDir();
  const path = `${dir.path}/sock/doorbell.sock`;
  const { bell, calls, nextOutbound } = await startBell(path);
  const first = await connectAgent(path, nextOutbound());
  const second = await connectAgent(path, nextOutbound());
  assert.equal(calls(), 2);

  bell.ring();
  assert.equal(await readByte(first), DOORBELL.inbound);
  assert.equal(await readByte(second), DOORBELL.inbound);

  const heard = nextOutbound();
  await first.write(new Uint8Array([DOORBELL.outbound, DOORBELL.outbound, DOORBELL.outbound]));
  await heard;
  assert.equal(calls(), 3, "three bytes in one read are one call");

  first.close();
  second.close();
  await bell.close();
});

Deno.test("a ring with nobody connected, or to a departed agent, is harmless", async () => {
  using dir = tempDir();
  const path = `${dir.path}/doorbell.sock`;
  const { bell, nextOutbound } = await startBell(path);
  bell.ring();

  const gone = await connectAgent(path, nextOutbound());
  gone.close();
  bell.ring();
  bell.ring();

  // Reconnecting works and the new connection hears the next ring.
  const back = await connectAgent(path, nextOutbound());
  bell.ring();
  assert.equal(await readByte(back), DOORBELL.inbound);
  back.close();
  await bell.close();
});

Deno.test("close hangs up on agents and removes the socket; a new doorbell can take its place", async () => {
  using dir = tempDir();
  const path = `${dir.path}/doorbell.sock`;
  const { bell, nextOutbound } = await startBell(path);
  assert.equal(Deno.lstatSync(path).mode! & 0o777, 0o666);
  const agent = await connectAgent(path, nextOutbound());
  await bell.close();
  assert.equal(await agent.read(new Uint8Array(1)), null, "the agent sees end of stream");
  agent.close();
  assert.throws(() => Deno.lstatSync(path), Deno.errors.NotFound);
  await assert.rejects(Deno.connect({ transport: "unix", path }));

  const again = await startBell(path);
  const agentAgain = await connectAgent(path, again.nextOutbound());
  again.bell.ring();
  assert.equal(await readByte(agentAgain), DOORBELL.inbound);
  agentAgain.close();
  await again.bell.close();
});
