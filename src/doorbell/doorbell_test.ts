import assert from "node:assert/strict";
import { DOORBELL, LEASE, LEASE_SOCKET_NAME } from "../../contract/sockets.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { QueueLease } from "../session/mod.ts";
import { Doorbell } from "./mod.ts";

/** A started doorbell whose outbound rings resolve `nextOutbound()`. */
async function startBell(path: string, lease?: QueueLease) {
  let calls = 0;
  let wake = () => {};
  const bell = new Doorbell(path, {
    onOutbound: () => {
      calls++;
      wake();
    },
    lease,
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

Deno.test("an agent waiting for the bell on the lease socket is rung there with the lease; one that never says so, on the doorbell", async () => {
  using dir = tempDir();
  const path = `${dir.path}/doorbell.sock`;
  const lease = new QueueLease();
  const { bell, calls, nextOutbound } = await startBell(path, lease);
  const doorbell = await connectAgent(path, nextOutbound());
  const leaseConn = await Deno.connect({ transport: "unix", path: `${dir.path}/${LEASE_SOCKET_NAME}` });
  await leaseConn.write(Uint8Array.of(LEASE.acquire));
  assert.equal(await readByte(leaseConn), LEASE.granted);

  // Today's agent (an older one, or one busy in a model call): the doorbell rings.
  await leaseConn.write(Uint8Array.of(LEASE.release));
  await lease.hold();
  bell.ring();
  assert.equal(await readByte(doorbell), DOORBELL.inbound);

  // Its release rings the host too, and says it waits for the bell.
  await leaseConn.write(Uint8Array.of(LEASE.acquire));
  assert.equal(await readByte(leaseConn), LEASE.granted);
  const heard = nextOutbound();
  await leaseConn.write(Uint8Array.of(LEASE.release, LEASE.outbound, LEASE.idle));
  await heard;
  assert.equal(calls(), 2, "the release's outbound note is an outbound ring");
  bell.ring();
  assert.equal(await readByte(leaseConn), LEASE.bell);
  assert.equal(lease.agentHolding, true);
  await leaseConn.write(Uint8Array.of(LEASE.release));
  // Nothing reached the doorbell for that ring: the next byte there is the next plain ring's.
  bell.ring();
  assert.equal(await readByte(doorbell), DOORBELL.inbound);
  leaseConn.close();
  doorbell.close();
  await bell.close();
  lease.dispose();
});
