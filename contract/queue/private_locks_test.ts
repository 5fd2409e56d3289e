/**
 * The outbound writer with private locks (`PRIVATE_LOCK_WRITER_PRAGMAS`, the
 * agent under gVisor): its lock and journal are kept for its life, so the
 * host's reader, which notices a commit by the bytes at 24..39 of page 1,
 * must see those bytes change at every commit; a cut-short write still
 * rolls back. The inbound reader with private locks takes no lock at all,
 * and still sees every commit of the host.
 */
import assert from "node:assert/strict";
import { PRIVATE_LOCK_WRITER_PRAGMAS } from "../cipher.ts";
import { Database } from "../sqlite/mod.ts";
import { openInboundWriter, openOutboundReader, provisionSession } from "./host.ts";
import { openInboundReader, openOutboundWriter } from "./sandbox.ts";
import { isHotJournal } from "./corruption.ts";
import { fixedKey, LIBRARY, tempDir } from "../../tests/support/mod.ts";

const opts = { library: LIBRARY, key: fixedKey(0x11) };

/** The on-disk bytes a reader compares to tell whether the file changed since its last read. */
function changeMark(path: string): string {
  return Deno.readFileSync(path).slice(24, 40).join(",");
}

Deno.test("private locks: every commit changes the bytes the host's reader watches; the journal is empty between commits", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_private", opts);
  const journal = `${paths.outbound}-journal`;
  {
    using w = openOutboundWriter(paths.outbound, { ...opts, privateLocks: true });
    const commits: [string, () => void][] = [
      ["a message", () => w.writeMessageOut({ id: "o1", kind: "chat", content: "one" })],
      ["an ack", () => w.markProcessing(["in_1"])],
      ["a state key", () => w.putSessionState("k", "v1")],
      ["a turn", () =>
        w.transaction(() => {
          w.writeMessageOut({ id: "o2", kind: "chat", content: "two" });
          w.markCompleted(["in_1"]);
          w.putSessionState("k", "v2");
        })],
      ["a delete", () => w.deleteSessionState(["k"])],
    ];
    for (const [what, commit] of commits) {
      const before = changeMark(paths.outbound);
      commit();
      assert.notEqual(changeMark(paths.outbound), before, `${what}: page 1 changed`);
      assert.equal(Deno.statSync(journal).size, 0, `${what}: the journal is truncated at the commit`);
    }
  }
  // A restarted agent (a new connection) goes on; the host reads everything committed.
  {
    using again = openOutboundWriter(paths.outbound, { ...opts, privateLocks: true });
    again.writeMessageOut({ id: "o3", kind: "chat", content: "three" });
  }
  using reader = openOutboundReader(paths.outbound, opts);
  assert.deepEqual(reader.dueMessages().messages.map((m) => m.content), ["one", "two", "three"]);
  assert.deepEqual(reader.processingAcks().map((a) => [a.messageId, a.status]), [["in_1", "completed"]]);
  assert.deepEqual(reader.sessionState(), {});
});

Deno.test("private locks: without a page-1 change an exclusive connection's second commit is invisible to readers (why the writer stamps)", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_plain", opts);
  using db = Database.open(paths.outbound, { ...opts, key: opts.key, pragmas: PRIVATE_LOCK_WRITER_PRAGMAS });
  const put = (v: string) =>
    db.run("INSERT OR REPLACE INTO session_state (key, value, updated_at) VALUES ('k', ?, 'x')", [v]);
  put("v1");
  const afterFirst = changeMark(paths.outbound);
  put("v2".repeat(10));
  assert.equal(changeMark(paths.outbound), afterFirst, "SQLite bumps the change counter once per lock");
});

Deno.test("private locks: a write cut short is a transient hot journal for the host, rolled back at the agent's next open", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_crash", opts);
  {
    using w = openOutboundWriter(paths.outbound, { ...opts, privateLocks: true });
    w.putSessionState("kept", "yes");
  }
  // The agent's connection mid-transaction, its page cache tiny so pages spill into the file before the
  // commit; a copy of both files taken then is what a kill -9 leaves behind.
  const journal = `${paths.outbound}-journal`;
  const db = Database.open(paths.outbound, {
    ...opts,
    pragmas: [...PRIVATE_LOCK_WRITER_PRAGMAS, "cache_size = 2"],
  });
  db.run("BEGIN IMMEDIATE");
  for (let i = 0; i < 40; i++) {
    db.run("INSERT INTO session_state (key, value, updated_at) VALUES (?, ?, 'x')", [
      `k${i}`,
      "x".repeat(5_000),
    ]);
  }
  const crashed = { journal: Deno.readFileSync(journal), file: Deno.readFileSync(paths.outbound) };
  db.run("ROLLBACK");
  db.close();
  Deno.writeFileSync(paths.outbound, crashed.file);
  Deno.writeFileSync(journal, crashed.journal);

  assert.throws(
    () => openOutboundReader(paths.outbound, opts),
    (err) => isHotJournal(err),
    "transient, not damage",
  );
  openOutboundWriter(paths.outbound, { ...opts, privateLocks: true }).close();
  using reader = openOutboundReader(paths.outbound, opts);
  assert.deepEqual(reader.sessionState(), { kept: "yes" }, "rolled back to the last commit");
});

Deno.test("private locks: the agent's inbound reader takes no file lock, and sees each host commit at its next read", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_reader", opts);
  using host = openInboundWriter(paths.inbound, opts);
  host.writeMessageIn({ id: "m1", kind: "chat", content: "one" });
  using agent = openInboundReader(paths.inbound, { ...opts, privateLocks: true });
  assert.deepEqual(agent.pendingMessages().map((m) => m.id), ["m1"]);
  host.writeMessageIn({ id: "m2", kind: "chat", content: "two" });
  assert.deepEqual(agent.read(() => agent.pendingMessages().map((m) => m.id)), ["m1", "m2"]);

  // Another connection holds the file's exclusive lock: a reader that locked would wait out its busy
  // timeout and fail with SQLITE_BUSY; this one reads the last commit.
  using holder = Database.open(paths.inbound, { ...opts, pragmas: ["locking_mode = EXCLUSIVE"] });
  holder.run("BEGIN EXCLUSIVE");
  assert.deepEqual(agent.pendingMessages().map((m) => m.id), ["m1", "m2"]);
  holder.run("ROLLBACK");
});
