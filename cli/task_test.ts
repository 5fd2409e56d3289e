import assert from "node:assert/strict";
import { DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";
import { servedFakePlane } from "../tests/support/served_plane.ts";

Deno.test("task list|cancel: the operator sees every agent's tasks and cancels one, which its session's copy drops", async () => {
  await using t = await servedFakePlane();
  const cli = async (...args: string[]) => {
    const io = captureIo();
    const code = await runCli([...args, ...t.flags], io);
    return { code, out: io.stdout, err: io.stderr.join("\n") };
  };
  assert.match((await cli("task", "list")).out[0], /^No scheduled tasks/);
  const sent = await t.plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "hello" });
  const sessionId = sent.outcomes[0].sessionId!;
  const { task } = t.plane.tasks.create({
    id: "tsk_morning",
    sessionId,
    prompt: "Say good morning\x1b[2J and list today's calendar",
    runAt: new Date(Date.now() + 3_600_000).toISOString(),
    recurrence: "daily",
  });
  await t.plane.scheduler.syncSession(sessionId);

  const listed = await cli("task", "list", "--agent", DEMO_AGENT_ID);
  assert.equal(listed.code, 0, listed.err);
  assert.match(listed.out[0], /^ID\s+AGENT\s+STATE\s+NEXT RUN\s+REPEATS\s+PROMPT$/);
  assert.match(
    listed.out[1],
    new RegExp(`^tsk_morning\\s+${DEMO_AGENT_ID}\\s+active\\s+${task.nextRun}\\s+daily\\s+Say`),
  );
  assert.ok(!listed.out[1].includes("\x1b"), "an agent's prompt cannot drive the terminal");
  const json = JSON.parse((await cli("task", "list", "--json")).out.join("\n"));
  assert.deepEqual(json.map((r: { id: string; sessionId: string }) => [r.id, r.sessionId]), [[
    "tsk_morning",
    sessionId,
  ]]);
  const unknownAgent = await cli("task", "list", "--agent", "nobody");
  assert.equal(unknownAgent.code, 1);
  assert.match(unknownAgent.err, /nobody/);

  const cancelled = await cli("task", "cancel", "tsk_morning");
  assert.equal(cancelled.code, 0, cancelled.err);
  assert.match(
    cancelled.out[0],
    new RegExp(`^cancelled tsk_morning \\(agent ${DEMO_AGENT_ID}\\): Say good morning`),
  );
  assert.equal(t.plane.tasks.byId("tsk_morning").state, "cancelled");
  assert.deepEqual(t.plane.tasks.rows(sessionId), [], "the agent's copy of its tasks no longer has it");
  assert.match((await cli("task", "list")).out[0], /^No scheduled tasks/);
  assert.equal((await cli("task", "cancel", "tsk_morning")).code, 0, "cancelling again is no error");

  const unknown = await cli("task", "cancel", "tsk_missing");
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /tsk_missing/);
  const bad = await cli("task", "cancel", "rm -rf");
  assert.equal(bad.code, 1);
  assert.match(bad.err, /tsk_/);
});
