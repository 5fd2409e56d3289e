import assert from "node:assert/strict";
import { checkSlackSignature, slackSignature } from "./signature.ts";

// Slack's documented example: secret, timestamp, body and the signature it computes.
const SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const TS = "1531420618";
const BODY =
  "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

Deno.test("slack signature: Slack's own example verifies; another body, secret or a stale time does not", async () => {
  assert.equal(await slackSignature(TS, BODY, SECRET), SIGNATURE);
  const now = Number(TS) + 60;
  const check = (
    over: Partial<{ timestamp: string | null; signature: string | null; body: string }>,
    secret = SECRET,
  ) =>
    checkSlackSignature({ timestamp: TS, signature: SIGNATURE, body: BODY, ...over }, {
      signingSecret: secret,
      nowSeconds: now,
    });
  assert.equal(await check({}), null);
  assert.equal(await check({ body: `${BODY}&x=1` }), "bad signature");
  assert.equal(await check({}, "another-secret"), "bad signature");
  assert.equal(await check({ signature: null }), "unsigned request");
  assert.equal(
    await checkSlackSignature({ timestamp: TS, signature: SIGNATURE, body: BODY }, {
      signingSecret: SECRET,
      nowSeconds: Number(TS) + 301,
    }),
    "stale timestamp",
  );
});
