import assert from "node:assert/strict";
import { FakeTelegram } from "../../../tests/support/fake_telegram.ts";
import { closedPortUrl } from "../../../tests/support/served_plane.ts";
import { checkTelegramToken } from "./doctor.ts";

Deno.test("doctor: getMe with the configured token passes; a refused, missing or malformed one fails with a fix", async () => {
  await using fake = FakeTelegram.start();
  const env = new Map([["TG", fake.token], ["WRONG", "123456:AAAAAAAAAAAAAAAAAAAAAAAAAA"], ["ODD", "nope"]]);
  const good = await checkTelegramToken({ tokenEnv: "TG", apiRoot: fake.apiRoot, env });
  assert.deepEqual(good, {
    ok: true,
    detail: `bot @${fake.bot.username} (id ${fake.bot.id}) via ${fake.apiRoot}`,
  });

  const refused = await checkTelegramToken({ tokenEnv: "WRONG", apiRoot: fake.apiRoot, env });
  assert.equal(refused.ok, false);
  assert.match(refused.detail, /401 Unauthorized/);
  assert.match(refused.fix!, /BotFather/);
  assert.ok(!JSON.stringify(refused).includes("AAAAAAAA"));

  const unset = await checkTelegramToken({ tokenEnv: "NOPE", env });
  assert.deepEqual([unset.ok, unset.detail], [false, "$NOPE is not set"]);
  const odd = await checkTelegramToken({ tokenEnv: "ODD", env });
  assert.match(odd.detail, /does not look like a bot token/);

  const down = await checkTelegramToken({ token: fake.token, apiRoot: closedPortUrl(), env });
  assert.equal(down.ok, false);
  assert.match(down.fix!, /network/);
  assert.ok(!JSON.stringify(down).includes(fake.token.split(":")[1]), JSON.stringify(down));
  assert.equal(fake.callsOf("getMe").length, 1, "only calls with the right token are recorded");
});
