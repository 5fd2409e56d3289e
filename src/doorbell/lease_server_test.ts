import assert from "node:assert/strict";
import { LEASE } from "../../contract/sockets.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { QueueLease } from "../session/mod.ts";
import { LeaseServer } from "./lease_server.ts";

async function started(path: string, capMs?: number) {
  const lease = new QueueLease({ capMs });
  const server = new LeaseServer(path, lease);
  await server.start();
  return { lease, server };
}

/** The next byte from the host; null once it hung up (a reset when our unread bytes were discarded). */
async function readByte(conn: Deno.UnixConn): Promise<number | null> {
  const buffer = new Uint8Array(1);
  try {
    return (await conn.read(buffer)) === null ? null : buffer[0];
  } catch (err) {
    if (err instanceof Deno.errors.ConnectionReset) return null;
    throw err;
  }
}

/** Connects and takes the lease. */
async function acquire(path: string): Promise<Deno.UnixConn> {
  const conn = await Deno.connect({ transport: "unix", path });
  await conn.write(Uint8Array.of(LEASE.acquire));
  assert.equal(await readByte(conn), LEASE.granted);
  return conn;
}

Deno.test("acquire, granted, release; the host's turn waits for the release", async () => {
  using dir = tempDir();
  const path = `${dir.path}/lease.sock`;
  const { lease, server } = await started(path);
  const agent = await acquire(path);
  assert.equal(lease.agentHolding, true);
  let hostRan = false;
  const host = lease.hold().then(() => {
    hostRan = true;
    assert.equal(lease.agentHolding, false, "the host never runs inside the agent's lease");
  });
  await agent.write(Uint8Array.of(LEASE.release));
  await host;
  assert.ok(hostRan);
  // The same connection takes the lease again.
  await agent.write(Uint8Array.of(LEASE.acquire));
  assert.equal(await readByte(agent), LEASE.granted);
  await agent.write(Uint8Array.of(LEASE.release));
  agent.close();
  await server.close();
  lease.dispose();
});

Deno.test("an agent that disconnects while holding the lease releases it", async () => {
  using dir = tempDir();
  const path = `${dir.path}/lease.sock`;
  const { lease, server } = await started(path);
  const agent = await acquire(path);
  const host = lease.hold();
  agent.close();
  await host;
  assert.equal(lease.agentHolding, false);
  assert.equal(lease.revocations, 0, "a hang-up is a release, not the cap");
  await server.close();
  lease.dispose();
});

Deno.test("an agent that never releases is cut off at the cap; the host goes on", async () => {
  using dir = tempDir();
  const path = `${dir.path}/lease.sock`;
  const { lease, server } = await started(path, 50);
  const hung = await acquire(path);
  await lease.hold();
  assert.equal(lease.revocations, 1);
  assert.equal(await readByte(hung), null, "the host hung up on the holder");
  hung.close();
  const next = await acquire(path);
  next.close();
  await server.close();
  lease.dispose();
});

Deno.test("malformed bytes are refused by hanging up, without harm to the host", async () => {
  using dir = tempDir();
  const path = `${dir.path}/lease.sock`;
  const { lease, server } = await started(path);
  const cases: number[][] = [
    [0x00],
    [0x7a, LEASE.acquire],
    [LEASE.release],
    [LEASE.acquire, LEASE.acquire],
    [LEASE.granted],
    [LEASE.bell],
    [LEASE.acquire, LEASE.idle],
    Array.from({ length: 300 }, (_, i) => i & 0xff),
  ];
  for (const bytes of cases) {
    const conn = await Deno.connect({ transport: "unix", path });
    await conn.write(Uint8Array.from(bytes));
    // A refused connection ends; a double acquire may be granted once before the hang-up.
    let byte = await readByte(conn);
    if (byte === LEASE.granted) byte = await readByte(conn);
    assert.equal(byte, null, `refused: ${bytes.slice(0, 4)}`);
    conn.close();
    await lease.hold();
    assert.equal(lease.agentHolding, false, "no lease outlives a refused connection");
  }
  assert.equal(server.refused, cases.length);
  const good = await acquire(path);
  good.close();
  await server.close();
  lease.dispose();
});

/** Releases with `extra` bytes in the same write, and waits until the host has read them. */
async function releaseWith(conn: Deno.UnixConn, lease: QueueLease, ...extra: number[]): Promise<void> {
  await conn.write(Uint8Array.of(LEASE.release, ...extra));
  await lease.hold();
}

Deno.test("a ring grants the lease to an agent waiting for the bell: the bell is its grant", async () => {
  using dir = tempDir();
  const path = `${dir.path}/lease.sock`;
  const { lease, server } = await started(path);
  const agent = await acquire(path);
  await releaseWith(agent, lease, LEASE.idle);
  assert.equal(server.ring(), true, "rung with the lease");
  assert.equal(await readByte(agent), LEASE.bell);
  assert.equal(lease.agentHolding, true, "the agent holds the lease without asking");
  let hostRan = false;
  const host = lease.hold().then(() => hostRan = true);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(hostRan, false, "the host waits for the agent's release");
  await agent.write(Uint8Array.of(LEASE.release));
  await host;
  assert.equal(server.ring(), false, "a bell grants once: the next ring is the doorbell's");
  assert.equal(server.refused, 0);
  agent.close();
  await server.close();
  lease.dispose();
});

Deno.test("an agent busy between its turns is never granted by a ring; an acquire ends a stale idle", async () => {
  using dir = tempDir();
  const path = `${dir.path}/lease.sock`;
  const { lease, server } = await started(path);
  const agent = await acquire(path);
  assert.equal(server.ring(), false, "holding a lease is not waiting for the bell");
  await releaseWith(agent, lease);
  assert.equal(server.ring(), false, "a plain release (a model call next) is not waiting for the bell");
  await agent.write(Uint8Array.of(LEASE.acquire));
  assert.equal(await readByte(agent), LEASE.granted);
  await releaseWith(agent, lease, LEASE.idle);
  // Idle, then busy again on its own (a timer poll that engages): the idle is stale.
  await agent.write(Uint8Array.of(LEASE.acquire));
  assert.equal(await readByte(agent), LEASE.granted);
  assert.equal(server.ring(), false);
  await releaseWith(agent, lease);
  assert.equal(server.ring(), false, "the acquire ended the idle for good");
  await lease.hold();
  assert.equal(lease.agentHolding, false);
  agent.close();
  await server.close();
  lease.dispose();
});

Deno.test("an acquire that crosses the bell joins its lease; a second one is refused", async () => {
  using dir = tempDir();
  const path = `${dir.path}/lease.sock`;
  const { lease, server } = await started(path);
  const agent = await acquire(path);
  await releaseWith(agent, lease, LEASE.idle);
  // The host rings during its own turn: the bell's grant waits for the turn's end.
  await lease.hold();
  assert.equal(server.ring(), true);
  await agent.write(Uint8Array.of(LEASE.acquire));
  assert.equal(await readByte(agent), LEASE.bell, "the bell answers the crossing acquire");
  await releaseWith(agent, lease);
  assert.equal(lease.agentHolding, false);
  // A fresh acquire gets its own grant: no stray one was owed.
  await agent.write(Uint8Array.of(LEASE.acquire));
  assert.equal(await readByte(agent), LEASE.granted);
  await releaseWith(agent, lease, LEASE.idle);
  assert.equal(server.refused, 0);

  assert.equal(server.ring(), true);
  assert.equal(await readByte(agent), LEASE.bell);
  await agent.write(Uint8Array.of(LEASE.acquire, LEASE.acquire));
  assert.equal(await readByte(agent), null, "only one acquire may join the bell's lease");
  assert.equal(server.refused, 1);
  await lease.hold();
  assert.equal(lease.agentHolding, false);
  agent.close();
  await server.close();
  lease.dispose();
});

Deno.test("a lease granted by the bell is capped like any other", async () => {
  using dir = tempDir();
  const path = `${dir.path}/lease.sock`;
  const { lease, server } = await started(path, 50);
  const agent = await acquire(path);
  await agent.write(Uint8Array.of(LEASE.release, LEASE.idle));
  await lease.hold();
  assert.equal(server.ring(), true);
  assert.equal(await readByte(agent), LEASE.bell);
  await lease.hold();
  assert.equal(lease.revocations, 1, "an unused bell is taken back at the cap");
  assert.equal(await readByte(agent), null, "by hanging up");
  agent.close();
  await server.close();
  lease.dispose();
});

Deno.test("a release can say outbound rows are waiting; idle is refused while a lease is asked or held", async () => {
  using dir = tempDir();
  const path = `${dir.path}/lease.sock`;
  const lease = new QueueLease();
  let outbound = 0;
  const server = new LeaseServer(path, lease, { onOutbound: () => outbound++ });
  await server.start();
  const agent = await acquire(path);
  await releaseWith(agent, lease, LEASE.outbound, LEASE.idle);
  assert.equal(outbound, 1);
  assert.equal(server.ring(), true, "both notes in one write");
  assert.equal(await readByte(agent), LEASE.bell);
  await agent.write(Uint8Array.of(LEASE.idle));
  assert.equal(await readByte(agent), null, "idle while holding the lease is out of protocol");
  agent.close();
  assert.equal(server.refused, 1);
  await server.close();
  lease.dispose();
});
