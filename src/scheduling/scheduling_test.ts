import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import type { Timestamp } from "../../contract/time.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { HostFixture } from "../../tests/support/host.ts";
import { ConflictError, InvalidInputError, NotFoundError } from "../state/mod.ts";
import { followingRun, validateSchedule } from "./rules.ts";
import { occurrenceId } from "./scheduler.ts";

/** A settable clock. */
function clock(start: string) {
  let now = start as Timestamp;
  return { now: () => now, set: (t: string) => void (now = t as Timestamp) };
}

function sessionOf(host: HostFixture): SessionId {
  const { chat } = host.seedChat();
  return host.registry.resolveSession("g1", chat.id, null, "shared").id;
}

Deno.test("schedule rules: validation and the following run", () => {
  const now = "2026-06-01T00:00:00.000Z";
  assert.deepEqual(validateSchedule({ prompt: " hi ", runAt: "" }, now), {
    prompt: "hi",
    runAt: now,
    recurrence: null,
  });
  assert.equal(
    validateSchedule({ prompt: "x", runAt: "2026-06-16T09:00:00+02:00" }, now).runAt,
    "2026-06-16T07:00:00.000Z",
  );
  assert.throws(() => validateSchedule({ prompt: "  ", runAt: "" }, now), InvalidInputError);
  assert.throws(() => validateSchedule({ prompt: "x", runAt: "soon" }, now), InvalidInputError);
  assert.throws(() => validateSchedule({ prompt: "x", runAt: "", recurrence: "0m" }, now), InvalidInputError);
  assert.equal(followingRun("2026-06-01T09:00:00.000Z", null, now), undefined);
  assert.equal(
    followingRun("2026-06-01T09:00:00.000Z", "daily", "2026-06-01T09:00:00.000Z"),
    "2026-06-02T09:00:00.000Z",
  );
  // Three missed days collapse into one run, and the rhythm is kept.
  assert.equal(
    followingRun("2026-06-01T09:00:00.000Z", "daily", "2026-06-04T10:00:00.000Z"),
    "2026-06-05T09:00:00.000Z",
  );
  assert.equal(
    followingRun("2026-06-01T09:00:00.000Z", "15m", "2026-06-01T09:00:00.000Z"),
    "2026-06-01T09:15:00.000Z",
  );
});

Deno.test("the task store: idempotent create, session scoping, pause, resume, cancel, update", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  const s1 = sessionOf(host);
  const { chat } = host.seedChat("fake", "C2", "g2");
  const s2 = host.registry.resolveSession("g2", chat.id, null, "shared").id;
  const t = host.tasks;
  const a = t.create({ id: "ta", sessionId: s1, prompt: "a", runAt: "2021-01-02T00:00:00Z" });
  assert.equal(a.created, true);
  assert.equal(t.create({ id: "ta", sessionId: s1, prompt: "other", runAt: "" }).created, false);
  assert.throws(() => t.create({ id: "ta", sessionId: s2, prompt: "a", runAt: "" }), ConflictError);
  t.create({ id: "tb", sessionId: s1, prompt: "b", runAt: "2021-01-01T00:00:00Z", recurrence: "weekly" });
  assert.deepEqual(t.list(s1).map((x) => x.id), ["tb", "ta"]);
  assert.throws(() => t.get(s2, "ta"), NotFoundError, "another session's task is invisible");
  assert.throws(() => t.cancel(s2, "ta"), NotFoundError);

  assert.equal(t.pause(s1, "tb").state, "paused");
  assert.equal(t.pause(s1, "tb").state, "paused");
  assert.equal(t.resume(s1, "tb").state, "active");
  const updated = t.update(s1, "tb", { prompt: "b2", recurrence: "" });
  assert.deepEqual([updated.prompt, updated.recurrence], ["b2", null]);
  assert.throws(() => t.update(s1, "tb", {}), InvalidInputError);
  assert.equal(t.cancel(s1, "ta").state, "cancelled");
  assert.equal(t.cancel(s1, "ta").state, "cancelled");
  assert.throws(() => t.resume(s1, "ta"), ConflictError);
  assert.throws(() => t.update(s1, "ta", { prompt: "x" }), ConflictError);
  assert.deepEqual(t.rows(s1).map((r) => [r.id, r.state]), [["tb", "active"]]);
});

Deno.test("the due pass hands each occurrence over once, wakes the session, and re-enqueues a recurring task", async () => {
  using dir = tempDir();
  const c = clock("2021-01-01T08:00:00.000Z");
  await using host = await HostFixture.open(dir.path, { now: c.now });
  const sessionId = sessionOf(host);
  host.tasks.create({
    id: "daily",
    sessionId,
    prompt: "morning report",
    runAt: "2021-01-01T09:00:00Z",
    recurrence: "daily",
  });
  host.tasks.create({ id: "once", sessionId, prompt: "one-off", runAt: "2021-01-01T09:30:00Z" });

  assert.deepEqual((await host.scheduler.runDue()).enqueued, [], "nothing is due yet");
  assert.equal(host.tasks.nextDue(), "2021-01-01T09:00:00.000Z");

  c.set("2021-01-01T10:00:00.000Z");
  const first = await host.scheduler.runDue();
  assert.deepEqual(first.enqueued, [
    occurrenceId("daily", "2021-01-01T09:00:00.000Z"),
    occurrenceId("once", "2021-01-01T09:30:00.000Z"),
  ]);
  assert.deepEqual(first.woken, [sessionId]);
  assert.deepEqual(host.waker.wakes, [sessionId]);
  assert.deepEqual(
    (await host.scheduler.runDue()).enqueued,
    [],
    "a second pass at the same time adds nothing",
  );
  assert.deepEqual(
    [host.tasks.get(sessionId, "daily").nextRun, host.tasks.get(sessionId, "daily").state],
    ["2021-01-02T09:00:00.000Z", "active"],
  );
  assert.deepEqual(host.tasks.get(sessionId, "once").state, "done");

  using agent = await host.agent(sessionId);
  const rows = agent.inbound.pendingMessages();
  assert.deepEqual(rows.map((m) => [m.kind, m.content, m.trigger, m.seriesId]), [
    ["task", "morning report", 1, "daily"],
    ["task", "one-off", 1, "once"],
  ]);
  assert.deepEqual(agent.inbound.tasks().map((t) => [t.id, t.nextRun]), [[
    "daily",
    "2021-01-02T09:00:00.000Z",
  ]]);

  c.set("2021-01-02T09:00:00.000Z");
  assert.deepEqual((await host.scheduler.runDue()).enqueued, [
    occurrenceId("daily", "2021-01-02T09:00:00.000Z"),
  ]);
  assert.equal(agent.inbound.pendingMessages().length, 3);
});

Deno.test("an occurrence written before a crash is not written again after the restart", async () => {
  using dir = tempDir();
  const c = clock("2021-01-01T10:00:00.000Z");
  let sessionId: SessionId;
  {
    await using host = await HostFixture.open(dir.path, { now: c.now });
    sessionId = sessionOf(host);
    host.tasks.create({
      id: "hourly",
      sessionId,
      prompt: "tick",
      runAt: "2021-01-01T09:00:00Z",
      recurrence: "hourly",
    });
    // The crash: the row reached the session, the task was not advanced.
    (await host.queues.inboundWriter(sessionId)).writeMessageIn({
      id: occurrenceId("hourly", "2021-01-01T09:00:00.000Z"),
      kind: "task",
      content: "tick",
    });
  }
  await using host = await HostFixture.open(dir.path, { now: c.now });
  const pass = await host.scheduler.runDue();
  assert.deepEqual(pass.failed, []);
  assert.deepEqual(pass.enqueued, [occurrenceId("hourly", "2021-01-01T09:00:00.000Z")]);
  assert.equal(host.tasks.get(sessionId, "hourly").nextRun, "2021-01-01T11:00:00.000Z");
  using agent = await host.agent(sessionId);
  assert.equal(agent.inbound.pendingMessages().filter((m) => m.kind === "task").length, 1);
});

Deno.test("a paused task does not run; resumed, its missed run fires once", async () => {
  using dir = tempDir();
  const c = clock("2021-01-01T08:00:00.000Z");
  await using host = await HostFixture.open(dir.path, { now: c.now });
  const sessionId = sessionOf(host);
  host.tasks.create({ id: "p", sessionId, prompt: "ping", runAt: "2021-01-01T09:00:00Z", recurrence: "1h" });
  host.tasks.pause(sessionId, "p");
  c.set("2021-01-01T12:30:00.000Z");
  assert.deepEqual((await host.scheduler.runDue()).enqueued, []);
  host.tasks.resume(sessionId, "p");
  assert.equal((await host.scheduler.runDue()).enqueued.length, 1);
  assert.equal(host.tasks.get(sessionId, "p").nextRun, "2021-01-01T13:00:00.000Z");
});
