import assert from "node:assert/strict";
import { tempDir } from "../../../tests/support/mod.ts";
import { openTestState } from "../../../tests/support/state.ts";
import { ChannelConfigStore } from "../kit/mod.ts";
import { resolveTelegramSettings } from "./settings.ts";

Deno.test("telegram settings resolve from the environment: the token from its variable, the API root by precedence", () => {
  using dir = tempDir();
  using state = openTestState(dir.path);
  const configs = new ChannelConfigStore(state);
  configs.put({ type: "telegram", tokenEnv: "OTHER", apiRoot: "http://127.0.0.1:8081/" });
  const env = new Map([["OTHER", " 1:tok "], ["IRONCLAW_TELEGRAM_API_ROOT", "https://tg.example.org"]]);
  assert.deepEqual(resolveTelegramSettings(configs.get("telegram"), env), {
    token: "1:tok",
    apiRoot: "http://127.0.0.1:8081",
    webhookUrl: null,
  });
  const plain = configs.put({ type: "telegram", tokenEnv: "OTHER" }).channel;
  assert.equal(resolveTelegramSettings(plain, env).apiRoot, "https://tg.example.org");
  assert.equal(
    resolveTelegramSettings(plain, new Map([["OTHER", "1:t"]])).apiRoot,
    "https://api.telegram.org",
  );
  assert.throws(() => resolveTelegramSettings(plain, new Map()), /\$OTHER .* is not set/);
});
