import assert from "node:assert/strict";
import { Database } from "../../contract/sqlite/mod.ts";
import { LIBRARY, tempDir } from "../../tests/support/mod.ts";
import { HostFixture } from "../../tests/support/host.ts";
import { OutboundJournalPendingError, QueueLeaseBusyError } from "./guarded_queues.ts";

Deno.test("host handles wait for the agent's lease, and refuse use inside it", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  const { chat } = host.seedChat();
  const session = host.registry.resolveSession("g1", chat.id, null, "shared");
  const writer = await host.queues.inboundWriter(session.id);
  const lease = host.queues.lease(session.id);
  assert.strictEqual(host.queues.lease(session.id), lease, "one lease per session");

  // Let the host turn end, then the agent takes the lease.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const agent = lease.request(() => {});
  assert.equal(await agent.granted, true);
  // A handle kept across an await meets the agent's lease: refused, not raced.
  assert.throws(() => writer.writeMessageIn({ id: "m1", kind: "chat", content: "hi" }), QueueLeaseBusyError);
  let got = false;
  const fresh = host.queues.outboundReader(session.id).then((reader) => {
    got = true;
    return reader;
  });
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(got, false, "the host waits while the agent holds the lease");
  agent.release();
  assert.deepEqual((await fresh).dueMessages().messages, []);
  (await host.queues.inboundWriter(session.id)).writeMessageIn({ id: "m1", kind: "chat", content: "hi" });
});

Deno.test("a hot journal in outbound is a transient error of the host's reader", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  const { chat } = host.seedChat();
  const session = host.registry.resolveSession("g1", chat.id, null, "shared");
  const reader = await host.queues.outboundReader(session.id);
  const paths = host.queues.paths(session.id);
  const key = await host.queues.sessionKey(session.id);
  // An agent write cut short: a tiny page cache makes SQLite sync its journal and spill pages into the file
  // mid-transaction; a copy of both files taken then is what a crash leaves behind.
  const db = Database.open(paths.outbound, {
    library: LIBRARY,
    key,
    pragmas: ["journal_mode = DELETE", "synchronous = FULL", "cache_size = 2"],
  });
  db.run("BEGIN IMMEDIATE");
  for (let i = 0; i < 40; i++) {
    db.run("INSERT INTO session_state (key, value, updated_at) VALUES (?, ?, '2026-01-01T00:00:00.000Z')", [
      `k${i}`,
      "x".repeat(5_000),
    ]);
  }
  const journal = `${paths.outbound}-journal`;
  const crashed = { journal: Deno.readFileSync(journal), file: Deno.readFileSync(paths.outbound) };
  db.run("ROLLBACK");
  db.close();
  Deno.writeFileSync(paths.outbound, crashed.file);
  Deno.writeFileSync(journal, crashed.journal);

  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.throws(() => reader.sessionState(), OutboundJournalPendingError);
  assert.throws(() => reader.dueMessages(), /agent must recover it on restart/);

  // The agent's writer, on its next open, rolls the journal back; the host reads again.
  Database.open(paths.outbound, { library: LIBRARY, key, pragmas: ["journal_mode = DELETE"] }).close();
  assert.deepEqual(reader.sessionState(), {});
});
