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
