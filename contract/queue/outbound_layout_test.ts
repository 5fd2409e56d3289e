/**
 * `outbound.db`'s two layouts: the one of 2026-12-07 (`OUTBOUND_SCHEMA`: a
 * reply row in one b-tree keyed by its seq, an acknowledgement in one
 * `WITHOUT ROWID` b-tree) and the one before it (`id TEXT PRIMARY KEY` and
 * `seq UNIQUE` on messages_out, a rowid processing_ack), which every session
 * made until then has. Both sides serve either, neither migrates one, and
 * every outbound statement finds its rows by key in both.
 */
import assert from "node:assert/strict";
import { OUTBOUND_SCHEMA } from "../schema.ts";
import { NEXT_ODD_SEQ_SQL } from "../seq.ts";
import { Database } from "../sqlite/mod.ts";
import { openOutboundReader, provisionSession } from "./host.ts";
import { openOutboundWriter } from "./sandbox.ts";
import { openReader } from "./open.ts";
import { fixedKey, LIBRARY, tempDir } from "../../tests/support/mod.ts";
import { EARLIER_OUTBOUND_SCHEMA } from "../../tests/support/outbound_layouts.ts";

const opts = { library: LIBRARY, key: fixedKey(0x11) };

/** The file's tables and indexes, as SQLite recorded their definitions. */
function layout(path: string): string[] {
  using db = openReader(path, opts);
  return db.all("SELECT type, name, sql FROM sqlite_schema ORDER BY name").map((r) =>
    `${r.type} ${r.name}: ${r.sql}`
  );
}

/** A session whose outbound file was made with `schema` before the host provisioned it. */
function sessionWith(dir: string, schema: string) {
  const outbound = `${dir}/ses_x/out/outbound.db`;
  Deno.mkdirSync(`${dir}/ses_x/out`, { recursive: true });
  using db = Database.open(outbound, { ...opts, create: true });
  db.execScript(schema);
  return outbound;
}

for (const [name, schema] of [["earlier", EARLIER_OUTBOUND_SCHEMA], ["current", OUTBOUND_SCHEMA]]) {
  Deno.test(`outbound layout (${name}): the agent writes, the host reads, provisioning leaves the layout as it is`, () => {
    using dir = tempDir();
    const path = sessionWith(dir.path, schema);
    const before = layout(path);
    provisionSession(dir.path, "ses_x", opts);
    for (const privateLocks of [false, true]) {
      using w = openOutboundWriter(path, { ...opts, privateLocks });
      w.transaction(() => {
        w.markProcessing([`in_${privateLocks}`]);
        w.putSessionState("loop.buffer", `[${privateLocks}]`);
      });
      w.transaction(() => {
        w.writeMessageOut({ id: `out_${privateLocks}`, kind: "chat", content: `reply ${privateLocks}` });
        w.markCompleted([`in_${privateLocks}`]);
      });
    }
    assert.deepEqual(layout(path), before, "no migration");
    using reader = openOutboundReader(path, opts);
    assert.deepEqual(reader.dueMessages().messages.map((m) => [m.seq, m.id, m.content]), [
      [1, "out_false", "reply false"],
      [3, "out_true", "reply true"],
    ]);
    assert.deepEqual(reader.dueMessages(1).messages.map((m) => m.id), ["out_true"]);
    assert.deepEqual(reader.processingAcks(["in_true"]).map((a) => [a.messageId, a.status]), [[
      "in_true",
      "completed",
    ]]);
    assert.deepEqual(reader.processingAcks().map((a) => a.messageId), ["in_false", "in_true"]);
    assert.deepEqual(reader.sessionState(), { "loop.buffer": "[true]" });
  });
}

Deno.test("outbound layout: every statement on outbound finds its rows by key in both layouts, none needs messages_out's id", () => {
  using dir = tempDir();
  const plans = (path: string) => {
    using db = openReader(path, opts);
    const plan = (sql: string) =>
      db.all(`EXPLAIN QUERY PLAN ${sql}`, []).map((r) => String(r.detail)).join("; ");
    return {
      // Host: the due read (dueMessages) and its held-back seq.
      due: plan(
        "SELECT id FROM messages_out WHERE seq > 0 AND (deliver_after IS NULL OR deliver_after <= 'z') ORDER BY seq",
      ),
      held: plan("SELECT MIN(seq) AS seq FROM messages_out WHERE seq > 0 AND deliver_after > 'z'"),
      // Host: the acks of the rows it mirrors (processingAcks(ids)).
      acks: plan(
        "SELECT message_id, status FROM processing_ack WHERE message_id IN (SELECT value FROM json_each('[]')) ORDER BY message_id",
      ),
      // Agent: the seq a reply is minted (writeMessageOut), an ack's upsert (markProcessing/markCompleted).
      mint: plan(`SELECT ${NEXT_ODD_SEQ_SQL}`),
      state: plan("SELECT value FROM session_state WHERE key = 'k'"),
    };
  };
  const current = plans(provisionSession(dir.path, "ses_new", opts).outbound);
  assert.match(current.due, /^SEARCH messages_out USING INTEGER PRIMARY KEY \(rowid>\?\)$/);
  assert.match(current.held, /^SEARCH messages_out USING INTEGER PRIMARY KEY \(rowid>\?\)$/);
  assert.match(current.acks, /SEARCH processing_ack USING PRIMARY KEY \(message_id=\?\)/);
  assert.match(current.mint, /SEARCH messages_out$/, "the last row of the table, not a scan");
  const earlier = plans(sessionWith(dir.path, EARLIER_OUTBOUND_SCHEMA));
  assert.match(earlier.due, /SEARCH messages_out USING INDEX sqlite_autoindex_messages_out_2 \(seq>\?\)/);
  assert.match(earlier.held, /SEARCH messages_out USING INDEX sqlite_autoindex_messages_out_2 \(seq>\?\)/);
  assert.match(
    earlier.acks,
    /SEARCH processing_ack USING INDEX sqlite_autoindex_processing_ack_1 \(message_id=\?\)/,
  );
  assert.match(earlier.mint, /SEARCH messages_out USING COVERING INDEX sqlite_autoindex_messages_out_2/);
  for (const plan of [...Object.values(current), ...Object.values(earlier)]) {
    assert.doesNotMatch(plan, /SCAN messages_out|autoindex_messages_out_1/, plan);
  }
  assert.match(current.state, /SEARCH session_state USING INDEX sqlite_autoindex_session_state_1 \(key=\?\)/);
});
