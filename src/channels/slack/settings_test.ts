import assert from "node:assert/strict";
import type { ChannelConfig } from "../kit/mod.ts";
import { InvalidInputError } from "../../state/mod.ts";
import { resolveSlackSettings } from "./settings.ts";

const config = (over: Partial<ChannelConfig> = {}): ChannelConfig => ({
  name: "slack",
  type: "slack",
  tokenEnv: "BOT",
  secretEnvs: { app: "APP" },
  apiRoot: null,
  webhookUrl: null,
  createdAt: "2026-01-01T00:00:00.000Z" as ChannelConfig["createdAt"],
  updatedAt: "2026-01-01T00:00:00.000Z" as ChannelConfig["updatedAt"],
  ...over,
});

Deno.test("slack settings: Socket Mode needs the app token, the Events API the signing secret; values only from the environment", () => {
  const env = new Map([["BOT", " xoxb-1 "], ["APP", "xapp-1"], ["SIGN", "s3cret"]]);
  assert.deepEqual(resolveSlackSettings(config(), env), {
    botToken: "xoxb-1",
    apiRoot: "https://slack.com/api",
    receive: { mode: "socket", appToken: "xapp-1" },
  });
  const http = config({
    webhookUrl: "https://x.example/v1/channels/slack/webhook",
    secretEnvs: { signing: "SIGN" },
  });
  assert.deepEqual(resolveSlackSettings(http, env).receive, { mode: "webhook", signingSecret: "s3cret" });
  assert.throws(() => resolveSlackSettings(config({ secretEnvs: {} }), env), /--app-token-env/);
  assert.throws(
    () => resolveSlackSettings(config({ webhookUrl: http.webhookUrl }), env),
    /--signing-secret-env/,
  );
  assert.throws(() => resolveSlackSettings(config(), new Map([["APP", "x"]])), (err) => {
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /\$BOT \(its bot token\) is not set/);
    return true;
  });
  assert.equal(
    resolveSlackSettings(config({ apiRoot: "http://127.0.0.1:9/api" }), env).apiRoot,
    "http://127.0.0.1:9/api",
  );
});
