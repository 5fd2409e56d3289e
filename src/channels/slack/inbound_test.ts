import assert from "node:assert/strict";
import { mentionsBot, parseSlackMessage } from "./inbound.ts";

const BOT = { userId: "UBOT", botId: "BBOT", name: "ironclaw" };

Deno.test("slack inbound: a DM addresses the bot; in a channel only a mention does; threads are kept", () => {
  const dm = parseSlackMessage({
    type: "message",
    channel: "D1",
    channel_type: "im",
    user: "U1",
    text: "hi",
    ts: "1.1",
  }, BOT);
  assert.ok(typeof dm !== "string");
  assert.deepEqual([dm.event.senderHandle, dm.event.mentioned, dm.event.isGroup, dm.event.threadId], [
    "U1",
    true,
    false,
    null,
  ]);
  const quiet = parseSlackMessage(
    { type: "message", channel: "C1", user: "U1", text: "chat", ts: "1.2" },
    BOT,
  );
  assert.ok(typeof quiet !== "string" && !quiet.event.mentioned && quiet.event.isGroup);
  const loud = parseSlackMessage(
    { type: "message", channel: "C1", user: "U1", text: "<@UBOT> hey", ts: "1.3", thread_ts: "1.0" },
    BOT,
  );
  assert.ok(typeof loud !== "string");
  assert.deepEqual([loud.event.mentioned, loud.event.threadId, loud.threadTs], [true, "1.0", "1.0"]);
  assert.ok(mentionsBot("<@UBOT|ironclaw> hi", BOT));
  assert.ok(!mentionsBot("<@UBOTX> hi", BOT));
});

Deno.test("slack inbound: bots (itself too), edits, system messages and empty ones are skipped", () => {
  const base = { type: "message", channel: "C1", user: "U1", text: "x", ts: "1.1" };
  assert.equal(parseSlackMessage({ ...base, bot_id: "B2" }, BOT), "from-bot");
  assert.equal(parseSlackMessage({ ...base, user: "UBOT" }, BOT), "from-bot");
  assert.equal(parseSlackMessage({ ...base, subtype: "message_changed" }, BOT), "edit-or-system");
  assert.equal(parseSlackMessage({ ...base, subtype: "channel_join" }, BOT), "edit-or-system");
  assert.equal(parseSlackMessage({ ...base, user: undefined }, BOT), "no-sender");
  assert.equal(parseSlackMessage({ ...base, text: " " }, BOT), "empty");
  assert.equal(parseSlackMessage({ type: "reaction_added" }, BOT), "not-a-message");
  const file = parseSlackMessage({ ...base, text: "", subtype: "file_share", files: [{ id: "F1" }] }, BOT);
  assert.ok(typeof file !== "string" && file.files.length === 1);
});
