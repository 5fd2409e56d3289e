import assert from "node:assert/strict";
import { LEASE } from "../../contract/sockets.ts";
import { jsonLogger } from "../log.ts";
import { deadline, tempDir } from "../testing.ts";
import { LeaseClient, unleased } from "./lease.ts";

/** A doorbell that counts: wakes (a bell on the lease socket) and rings (outbound no release carried). */
function countingBell() {
  const counts = { wakes: 0, rings: 0 };
  let woken = () => {};
  return {
    counts,
    bell: {
      wake: () => {
        counts.wakes++;
        woken();
      },
      ring: () => {
        counts.rings++;
        return Promise.resolve();
      },
    },
    nextWake: () => new Promise<void>((resolve) => woken = resolve),
  };
}

/** A scripted host end of the lease socket: reads exactly `n` bytes. */
async function readBytes(conn: Deno.Conn, n: number): Promise<number[]> {
  const bytes: number[] = [];
  const buffer = new Uint8Array(16);
  while (bytes.length < n) {
    const got = await deadline(conn.read(buffer), { what: `${n} bytes from the agent` });
    if (got === null) break;
    bytes.push(...buffer.subarray(0, got));
  }
  return bytes;
}

Deno.test("a release carries its notes; the host's bell wakes the loop and is the next turn's grant", async () => {
  using dir = tempDir();
  const path = `${dir.path}/lease.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const { bell, counts, nextWake } = countingBell();
  const client = new LeaseClient(path, jsonLogger(() => {}), { bell });
  try {
    const first = client.run(() => "rows written", () => ({ outbound: true, idle: true }));
    const host = await listener.accept();
    assert.deepEqual(await readBytes(host, 1), [LEASE.acquire]);
    await host.write(Uint8Array.of(LEASE.granted));
    assert.equal(await first, "rows written");
    assert.deepEqual(await readBytes(host, 3), [LEASE.release, LEASE.outbound, LEASE.idle]);

    const woken = nextWake();
    await host.write(Uint8Array.of(LEASE.bell));
    await woken;
    assert.equal(await client.run(() => client.held, () => ({ idle: false })), true);
    assert.deepEqual(await readBytes(host, 1), [LEASE.release], "no acquire: the bell granted the turn");

    // Not waiting for the bell (a model call next): the next turn asks, and the answer is read then.
    const third = client.run(() => 3);
    assert.deepEqual(await readBytes(host, 1), [LEASE.acquire]);
    await host.write(Uint8Array.of(LEASE.granted));
    assert.equal(await third, 3);
    assert.deepEqual(await readBytes(host, 1), [LEASE.release]);
    assert.deepEqual(counts, { wakes: 1, rings: 0 }, "the release rang the host, not the doorbell");
    host.close();
  } finally {
    client.close();
    listener.close();
  }
});

Deno.test("an acquire sent before the bell is read takes the bell as its grant", async () => {
  using dir = tempDir();
  const path = `${dir.path}/lease.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const { bell, counts } = countingBell();
  const client = new LeaseClient(path, jsonLogger(() => {}), { bell });
  try {
    const first = client.run(() => 1, () => ({ idle: true }));
    const host = await listener.accept();
    await readBytes(host, 1);
    await host.write(Uint8Array.of(LEASE.granted));
    await first;
    assert.deepEqual(await readBytes(host, 2), [LEASE.release, LEASE.idle]);
    // A timer poll asks while the host rings: the host joins the acquire to the bell's lease.
    const poll = client.run(() => client.held);
    assert.deepEqual(await readBytes(host, 1), [LEASE.acquire]);
    await host.write(Uint8Array.of(LEASE.bell));
    assert.equal(await poll, true);
    assert.deepEqual(await readBytes(host, 1), [LEASE.release]);
    assert.equal(counts.wakes, 0, "the crossing poll reads what the bell announced: no extra wake");
    host.close();
  } finally {
    client.close();
    listener.close();
  }
});

Deno.test("without a doorbell the client never waits for the bell; an outbound note with no release rings the doorbell", async () => {
  using dir = tempDir();
  const path = `${dir.path}/lease.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const client = new LeaseClient(path, jsonLogger(() => {}));
  try {
    const turn = client.run(() => 1, () => ({ idle: true }));
    const host = await listener.accept();
    await readBytes(host, 1);
    await host.write(Uint8Array.of(LEASE.granted));
    await turn;
    assert.deepEqual(await readBytes(host, 1), [LEASE.release], "nothing would wake it at a bell");
    host.close();
  } finally {
    client.close();
    listener.close();
  }

  const { bell, counts } = countingBell();
  const alone = new LeaseClient(`${dir.path}/absent.sock`, jsonLogger(() => {}), { bell, retryBaseMs: 0 });
  await alone.run(() => 1, () => ({ outbound: true, idle: true }));
  assert.equal(counts.rings, 1, "unleased, the doorbell carries the ring");
  alone.close();
  const noHost = countingBell();
  await unleased(noHost.bell).run(() => 1, () => ({ outbound: true }));
  assert.equal(noHost.counts.rings, 1);
});
