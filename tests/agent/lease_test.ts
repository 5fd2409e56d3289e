/**
 * The queue lease end to end: the agent's client (`sandbox-agent/loop/lease.ts`)
 * against the host's server and lock (`src/doorbell`, `src/session`), across
 * two processes sharing real queue files.
 */
import assert from "node:assert/strict";
import { sessionKeyHex } from "../../contract/cipher.ts";
import { openOutboundReader, provisionSession } from "../../contract/queue/host.ts";
import { jsonLogger } from "../../sandbox-agent/log.ts";
import { LeaseClient, leased } from "../../sandbox-agent/loop/mod.ts";
import { LeaseServer } from "../../src/doorbell/mod.ts";
import { QueueLease } from "../../src/session/mod.ts";
import { fixedKey, LIBRARY, tempDir } from "../support/mod.ts";

const CHILD = new URL("./lease_child.ts", import.meta.url).pathname;
const ROWS = 40;

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("an agent's write transactions and the host's reads never overlap", async () => {
  using dir = tempDir();
  const key = fixedKey(0x11);
  const paths = provisionSession(`${dir.path}/queues`, "ses_lease", { library: LIBRARY, key });
  const socket = `${dir.path}/sock/lease.sock`;
  const marker = `${dir.path}/in-transaction`;
  const lease = new QueueLease();
  const server = new LeaseServer(socket, lease);
  await server.start();
  using reader = openOutboundReader(paths.outbound, { library: LIBRARY, key });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, socket, marker, paths.outbound, LIBRARY, sessionKeyHex(key), String(ROWS)],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let done = false;
  const status = child.output().then((out) => {
    done = true;
    return out;
  });
  const seen = new Set<number>();
  let reads = 0;
  while (!done) {
    await lease.hold();
    assert.equal(exists(marker), false, "the host holds the files while the agent is mid-transaction");
    seen.add(reader.dueMessages().messages.length);
    reads++;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const out = await status;
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  assert.doesNotMatch(new TextDecoder().decode(out.stderr), /lease\.unavailable/);
  await lease.hold();
  assert.equal(reader.dueMessages().messages.length, ROWS);
  assert.ok(seen.size > 2, `the host read while the agent wrote (${reads} reads saw ${[...seen]})`);
  await server.close();
  lease.dispose();
});

Deno.test("without a lease server the client runs unleased and says so once; it reconnects after a hang-up", async () => {
  using dir = tempDir();
  const socket = `${dir.path}/lease.sock`;
  const lines: string[] = [];
  const client = new LeaseClient(socket, jsonLogger((line) => lines.push(line)), {
    retryBaseMs: 0,
    retryCapMs: 0,
  });
  assert.equal(await client.run(() => client.held), true, "the turn runs, held");
  assert.equal(await client.run(() => 2), 2);
  assert.equal(lines.filter((l) => l.includes("lease.unavailable")).length, 1, lines.join("\n"));
  assert.equal(client.held, false);

  const lease = new QueueLease();
  let server = new LeaseServer(socket, lease);
  await server.start();
  assert.equal(await client.run(() => lease.agentHolding), true, "leased once the server is there");
  assert.equal(client.connected, true);
  // The host restarts (or revokes): the old connection is dead, the next turn reconnects.
  await server.close();
  server = new LeaseServer(socket, lease);
  await server.start();
  assert.equal(await client.run(() => lease.agentHolding), true);
  assert.equal(server.refused, 0);
  client.close();
  await server.close();
  lease.dispose();
});

Deno.test("a handle used outside a lease turn throws; turns are serial", async () => {
  const lease = new LeaseClient("/nonexistent/lease.sock", jsonLogger(() => {}));
  const handle = leased({ read: () => 1, close: () => {} }, lease, "inbound");
  assert.throws(() => handle.read(), /inbound\.read called outside the queue lease/);
  handle.close();
  const order: string[] = [];
  await Promise.all([
    lease.run(() => order.push("a", String(handle.read()))),
    lease.run(() => order.push("b")),
  ]);
  assert.deepEqual(order, ["a", "1", "b"]);
  lease.close();
});
