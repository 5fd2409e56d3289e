import assert from "node:assert/strict";
import { FakeDiscord } from "../../../tests/support/fake_discord.ts";
import { closedPortUrl } from "../../../tests/support/served_plane.ts";
import { checkDiscordToken } from "./doctor.ts";

Deno.test("discord doctor: a good token passes; unset, refused, no Message Content intent or unreachable fail with a fix", async () => {
  await using fake = FakeDiscord.start();
  const env = new Map([["DC", fake.token], ["WRONG", "not-the-token-0123456789"]]);
  assert.deepEqual(await checkDiscordToken({ tokenEnv: "DC", apiRoot: fake.apiRoot, env }), {
    ok: true,
    detail: `bot ${fake.bot.username} (id ${fake.bot.id}) via ${fake.apiRoot}`,
  });

  const refused = await checkDiscordToken({ tokenEnv: "WRONG", apiRoot: fake.apiRoot, env });
  assert.equal(refused.ok, false);
  assert.match(refused.detail, /401/);
  assert.match(refused.fix!, /Reset Token/);
  assert.ok(!JSON.stringify(refused).includes("not-the-token"));

  const unset = await checkDiscordToken({ tokenEnv: "NOPE", env });
  assert.deepEqual([unset.ok, unset.detail], [false, "$NOPE is not set"]);

  await using noIntent = FakeDiscord.start({ messageContent: false });
  const intent = await checkDiscordToken({
    tokenEnv: "DC",
    apiRoot: noIntent.apiRoot,
    env: new Map([["DC", noIntent.token]]),
  });
  assert.equal(intent.ok, false);
  assert.match(intent.detail, /Message Content intent is not enabled/);
  assert.match(intent.fix!, /Developer Portal/);

  const down = await checkDiscordToken({ tokenEnv: "DC", apiRoot: closedPortUrl(), env, timeoutMs: 2_000 });
  assert.equal(down.ok, false);
  assert.match(down.fix!, /network/);
  assert.ok(!JSON.stringify(down).includes(fake.token));
});
