import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { INBOUND_SCHEMA } from "../../contract/schema.ts";
import { openInboundWriter } from "../../contract/queue/host.ts";
import { type InboundWriter, openWriter } from "../../contract/queue/mod.ts";
import type { Timestamp } from "../../contract/time.ts";
import { fixedKey, LIBRARY, tempDir } from "../../tests/support/mod.ts";
import type { LogRecord } from "@logtape/logtape";
import { HostFixture } from "../../tests/support/host.ts";
import { configureLogging } from "../log/mod.ts";
import {
  BacklogGate,
  countBacklog,
  DEFAULT_INBOUND_BACKLOG_CAP,
  SessionBacklogFullError,
} from "./backlog.ts";

const NOW = "2030-01-01T00:00:00.000Z" as Timestamp;

Deno.test("countBacklog counts queued, due and processing rows, and its floor never passes an open row", () => {
  using dir = tempDir();
  const path = `${dir.path}/inbound.db`;
  const opts = { library: LIBRARY, key: fixedKey(0x11) };
  openWriter(path, opts, INBOUND_SCHEMA).close();
  using writer = openInboundWriter(path, opts);
  using db = openWriter(path, opts);
  const write = (id: string, extra: Record<string, unknown> = {}) =>
    writer.writeMessageIn({ id, kind: "chat", content: id, ...extra });
  const setStatus = (id: string, status: string) =>
    db.run("UPDATE messages_in SET status = ? WHERE id = ?", [status, id]);

  assert.deepEqual(countBacklog(db, 0, NOW), { backlog: { unanswered: 0, engaging: 0 }, floor: 1 });
  write("a"); // seq 2
  write("b", { trigger: 0 }); // seq 4
  write("c"); // seq 6
  write("later", { kind: "task", processAfter: "2031-01-01T00:00:00.000Z" }); // seq 8, not due
  write("due", { kind: "task", processAfter: "2029-01-01T00:00:00.000Z" }); // seq 10, due
  setStatus("a", "completed");
  setStatus("c", "processing");
  let counted = countBacklog(db, 0, NOW);
  // b (accumulated), c (processing), due; "later" is not due yet but holds the floor back.
  assert.deepEqual(counted, { backlog: { unanswered: 3, engaging: 2 }, floor: 4 });
  for (const id of ["b", "c", "due"]) setStatus(id, "completed");
  counted = countBacklog(db, counted.floor, NOW);
  assert.deepEqual(counted, { backlog: { unanswered: 0, engaging: 0 }, floor: 8 }, "held at the future task");
  setStatus("later", "completed");
  counted = countBacklog(db, counted.floor, NOW);
  assert.deepEqual(counted.floor, 11, "everything answered: the floor is past the newest row");
  write("d"); // seq 12: above the floor, so it is seen
  assert.deepEqual(countBacklog(db, counted.floor, NOW).backlog, { unanswered: 1, engaging: 1 });
  // The count is a range scan of the seq index, not a scan of the whole history.
  const plan = db.all(
    "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM messages_in WHERE seq >= ? AND status <> 'completed'",
    [0],
  );
  assert.match(String(plan[0].detail), /USING INDEX .*\(seq>\?\)/);
});

/** A host with cap `cap` and the chat fake:alice → g1; routes `n` messages and returns the session. */
async function filled(dir: string, cap: number, n: number) {
  const host = await HostFixture.open(dir, { backlogCap: cap });
  host.seedChat();
  let sessionId: SessionId | null = null;
  for (let i = 0; i < n; i++) {
    const { outcomes } = await host.router.route({
      channelType: "fake",
      platformId: "C1",
      senderHandle: "alice",
      text: `m${i}`,
    });
    sessionId = outcomes[0].sessionId;
  }
  return { host, sessionId: sessionId! };
}

Deno.test("the gate refuses at the cap, logs the episode once, and counts refusals by reason and channel", async () => {
  using dir = tempDir();
  const { host, sessionId } = await filled(dir.path, 2, 2);
  await using _ = host;
  const seen: LogRecord[] = [];
  await configureLogging({ sink: (r) => void seen.push(r), level: "debug" });
  await using _logs = { [Symbol.asyncDispose]: () => configureLogging({ sink: () => {} }) };
  const engaging = { engaging: true, channel: "fake" };
  const refusal = await host.backlog.write(sessionId, engaging, () => "written").catch((e) => e);
  assert.ok(refusal instanceof SessionBacklogFullError);
  assert.deepEqual([refusal.sessionId, refusal.backlog, refusal.cap, refusal.retryAfterSeconds], [
    sessionId,
    2,
    2,
    5,
  ]);
  assert.match(refusal.message, new RegExp(`session ${sessionId} has 2 unanswered inbound messages`));
  await assert.rejects(host.backlog.write(sessionId, engaging, () => "again"), SessionBacklogFullError);
  assert.deepEqual(host.backlog.shedding(), [sessionId]);
  assert.match(
    host.metrics.render(),
    /ironclaw_inbound_refused_total\{channel="fake",reason="backlog-full"\} 2/,
  );

  // A row that is already queued (a retried, idempotent write) is not counted against the cap.
  using agent = await host.agent(sessionId);
  const [first] = agent.inbound.pendingMessages();
  assert.equal(
    await host.backlog.write(sessionId, { ...engaging, id: first.id }, () => "rewritten"),
    "rewritten",
  );

  // The agent answers one: there is room again, and the episode ends.
  await host.queues.advanceStatuses(sessionId, [{ messageId: first.id, status: "completed" }]);
  assert.equal(await host.backlog.write(sessionId, engaging, () => "written"), "written");
  assert.deepEqual(host.backlog.shedding(), []);
  const lines = seen.filter((r) => r.category.join(".") === "ironclaw.backlog");
  assert.deepEqual(lines.map((r) => [r.level, r.properties.sessionId, r.properties.backlog]), [
    ["warning", sessionId, 2],
    ["info", sessionId, 1],
  ], "one line when shedding starts (two refusals), one when it ends");
});

Deno.test("an engaging message passes a cap of accumulated rows once, so the agent can take them up", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path, { backlogCap: 2 });
  host.seedChat();
  const session = host.registry.resolveSession(
    "g1",
    host.registry.getOrCreateMessagingGroup({ channelType: "fake", platformId: "C1" }).id,
    null,
    "shared",
  );
  const quiet = { engaging: false, channel: "fake" };
  const loud = { engaging: true, channel: "fake" };
  const row = (id: string, trigger: 0 | 1) => (w: InboundWriter) =>
    w.writeMessageIn({ id, kind: "chat", trigger, content: id });
  await host.backlog.write(session.id, quiet, row("q1", 0));
  await host.backlog.write(session.id, quiet, row("q2", 0));
  await assert.rejects(host.backlog.write(session.id, quiet, row("q3", 0)), SessionBacklogFullError);
  await host.backlog.write(session.id, loud, row("e1", 1));
  await assert.rejects(host.backlog.write(session.id, loud, row("e2", 1)), SessionBacklogFullError);
  using agent = await host.agent(session.id);
  assert.deepEqual(agent.inbound.pendingMessages().map((m) => m.id), ["q1", "q2", "e1"]);
});

Deno.test("the gate takes a whole number cap of at least 1 (default 200)", () => {
  const queues = { inboundTurn: () => Promise.reject(new Error("unused")) };
  assert.equal(new BacklogGate({ queues }).cap, DEFAULT_INBOUND_BACKLOG_CAP);
  assert.equal(DEFAULT_INBOUND_BACKLOG_CAP, 200);
  for (const cap of [0, -1, 1.5, Number.NaN, Infinity]) {
    assert.throws(() => new BacklogGate({ queues, cap }), RangeError, String(cap));
  }
});
