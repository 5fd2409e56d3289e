import assert from "node:assert/strict";
import { tempDir } from "../../../tests/support/mod.ts";
import { openTestState } from "../../../tests/support/state.ts";
import { InvalidInputError, NotFoundError } from "../../state/mod.ts";
import { ChannelConfigStore } from "./channel_config.ts";
import { ChannelStore } from "./store.ts";

Deno.test("channel store: the cursor only moves forward, and survives reopening", () => {
  using dir = tempDir();
  {
    using state = openTestState(dir.path);
    const store = new ChannelStore(state, "telegram");
    assert.equal(store.cursor(), 0);
    store.advanceCursor(105);
    store.advanceCursor(101);
    assert.equal(store.cursor(), 105);
    store.recordMessage("in_1", 0, "42", "7001");
    store.recordMessage("out_1", 0, "42", "7002");
    store.recordMessage("out_1", 1, "42", "7003");
    store.recordMessage("out_1", 1, "42", "9999");
  }
  using state = openTestState(dir.path);
  const store = new ChannelStore(state, "telegram");
  assert.equal(store.cursor(), 105);
  assert.equal(new ChannelStore(state, "other").cursor(), 0, "cursors are per channel");
  assert.deepEqual(store.message("in_1"), { chatId: "42", messageId: "7001" });
  assert.deepEqual(
    [...store.sentParts("out_1")],
    [[0, "7002"], [1, "7003"]],
    "the first record of a piece wins",
  );
  assert.equal(store.pruneMessages("2999-01-01T00:00:00.000Z"), 3);
  assert.equal(store.message("in_1"), undefined);
});

Deno.test("channel config: the env var names are stored, never a token", () => {
  using dir = tempDir();
  using state = openTestState(dir.path);
  const configs = new ChannelConfigStore(state);
  const { channel, created } = configs.put({ type: "telegram", tokenEnv: "MY_BOT_TOKEN" });
  assert.equal(created, true);
  assert.deepEqual([channel.name, channel.tokenEnv, channel.apiRoot, channel.webhookUrl], [
    "telegram",
    "MY_BOT_TOKEN",
    null,
    null,
  ]);
  const again = configs.put({ type: "telegram", tokenEnv: "OTHER", apiRoot: "http://127.0.0.1:8081/" });
  assert.deepEqual([again.created, again.channel.tokenEnv, again.channel.apiRoot], [
    false,
    "OTHER",
    "http://127.0.0.1:8081",
  ]);
  assert.throws(() => configs.put({ type: "Not A Type", tokenEnv: "X" }), InvalidInputError);
  assert.throws(() => configs.put({ type: "telegram", tokenEnv: "1BAD-NAME" }), InvalidInputError);
  assert.throws(
    () => configs.put({ type: "telegram", tokenEnv: "X", apiRoot: "http://example.org" }),
    InvalidInputError,
  );
  assert.throws(
    () => configs.put({ type: "telegram", tokenEnv: "X", webhookUrl: "http://x.org/h" }),
    InvalidInputError,
  );

  const slack = configs.put({ type: "slack", tokenEnv: "SLACK_BOT", secretEnvs: { app: "SLACK_APP" } });
  assert.deepEqual(slack.channel.secretEnvs, { app: "SLACK_APP" }, "other secrets: names by role");
  assert.throws(
    () => configs.put({ type: "slack", tokenEnv: "X", secretEnvs: { app: "no-good" } }),
    /--app-env/,
  );
  assert.deepEqual(configs.list().map((c) => c.name), ["slack", "telegram"]);
  assert.equal(configs.remove("slack"), true);

  assert.equal(configs.remove("telegram"), true);
  assert.equal(configs.remove("telegram"), false);
  assert.throws(() => configs.get("telegram"), NotFoundError);
  assert.deepEqual(configs.list(), []);
});
