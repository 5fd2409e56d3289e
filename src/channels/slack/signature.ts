/**
 * Slack's request signatures (Events API over HTTP): `X-Slack-Signature` is
 * `v0=` and the hex HMAC-SHA256, under the app's signing secret, of
 * `v0:<X-Slack-Request-Timestamp>:<raw body>`; a timestamp more than five
 * minutes from now is refused so a captured request cannot be replayed.
 *
 * @module
 */

/** How far a request's timestamp may be from now. */
export const SIGNATURE_WINDOW_SECONDS = 5 * 60;

/** Why a request is refused, or null when its signature holds. */
export async function checkSlackSignature(
  request: { timestamp: string | null; signature: string | null; body: string },
  options: { signingSecret: string; nowSeconds?: number },
): Promise<string | null> {
  const { timestamp, signature, body } = request;
  if (!timestamp || !signature) return "unsigned request";
  if (!/^\d{1,12}$/.test(timestamp)) return "bad timestamp";
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > SIGNATURE_WINDOW_SECONDS) return "stale timestamp";
  const expected = await slackSignature(timestamp, body, options.signingSecret);
  return constantTimeEqual(expected, signature) ? null : "bad signature";
}

/** The `X-Slack-Signature` of `body` sent at `timestamp` (seconds). */
export async function slackSignature(
  timestamp: string,
  body: string,
  signingSecret: string,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(signingSecret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`v0:${timestamp}:${body}`));
  return `v0=${new Uint8Array(mac).toHex()}`;
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
