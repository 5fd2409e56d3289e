import assert from "node:assert/strict";
import { REDACTED } from "../../log/mod.ts";
import { GrammyError, HttpError } from "./grammy.ts";
import { checkApiRoot, isBotToken } from "./api.ts";
import { describeTelegramError, scrubToken, toTelegramError } from "./secrets.ts";

const token = "12345:AAE_secret-value-0123456789";

Deno.test("secrets: the token is scrubbed raw, URL-encoded, and in any /bot<token> path", () => {
  assert.equal(scrubToken(`x ${token} y`, token), `x ${REDACTED} y`);
  assert.equal(scrubToken(`x ${encodeURIComponent(token)}`, token), `x ${REDACTED}`);
  assert.equal(scrubToken("GET /bot999:otherToken_abc/getMe", token), `GET /bot${REDACTED}/getMe`);
});

Deno.test("secrets: API and network errors are described without the token", () => {
  const api = new GrammyError(
    "Call failed",
    { ok: false, error_code: 429, description: "Too Many Requests", parameters: { retry_after: 3 } },
    "sendMessage",
    {},
  );
  const e = toTelegramError(api, "sendMessage", token);
  assert.deepEqual([e.message, e.code, e.retryAfter, e.permanent], [
    "sendMessage: 429 Too Many Requests",
    429,
    3,
    false,
  ]);
  const net = new HttpError(
    "Network request for 'getMe' failed!",
    new TypeError("fetch failed", {
      cause: new Error(`error sending request for url (http://h/bot${token}/getMe)`),
    }),
  );
  const text = describeTelegramError(net, token);
  assert.ok(!text.includes("secret-value"), text);
  assert.match(text, /fetch failed: error sending request/);
});

Deno.test("api: roots must be https (http only on loopback); tokens have their shape", () => {
  assert.equal(checkApiRoot("https://api.telegram.org/"), "https://api.telegram.org");
  assert.equal(checkApiRoot("http://127.0.0.1:8081"), "http://127.0.0.1:8081");
  assert.equal(checkApiRoot("http://localhost:8081/tg/"), "http://localhost:8081/tg");
  for (const bad of ["http://example.org", "ftp://x", "https://u:p@x.org", "https://x.org/?a=1", "nope"]) {
    assert.throws(() => checkApiRoot(bad), bad);
  }
  assert.ok(isBotToken(token));
  assert.ok(!isBotToken("abc"));
  assert.ok(!isBotToken("123:short"));
});
