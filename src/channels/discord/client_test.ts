import assert from "node:assert/strict";
import { logger } from "../../log/mod.ts";
import { DiscordClient, scrubSecrets } from "./client.ts";
import { GatewayIntake } from "./gateway_intake.ts";

Deno.test("discord client: the bot token and interaction tokens are scrubbed from every line", () => {
  const token = "MTIz.Gabc.secret-part";
  assert.equal(
    scrubSecrets(
      `failed with ${token} at /api/v10/interactions/123/aW50ZXJhY3Rpb24.tok-en_1/callback`,
      token,
    ),
    "failed with [token] at /api/v10/interactions/123/[token]/callback",
  );
  assert.equal(
    scrubSecrets("/webhooks/55/abcDEF_-12/messages/@original", ""),
    "/webhooks/55/[token]/messages/@original",
  );
});

Deno.test("discord client: attachments are fetched only from Discord's CDN or the API root's own host", async () => {
  const log = logger("test");
  const client = new DiscordClient("t", {
    apiRoot: "http://127.0.0.1:9",
    sessions: new GatewayIntake({ handle: () => Promise.resolve(), describe: String, log }),
    log,
  });
  const signal = AbortSignal.timeout(1_000);
  await assert.rejects(
    client.fetchAttachment("http://169.254.169.254/latest/meta-data", signal),
    /not Discord's CDN/,
  );
  await assert.rejects(
    client.fetchAttachment("http://cdn.discordapp.com/a/b", signal),
    /not Discord's CDN/,
    "https only",
  );
  await assert.rejects(
    client.fetchAttachment("https://evil.example/cdn.discordapp.com/x", signal),
    /not Discord's CDN/,
  );
  client.rest.clearHashSweeper();
  client.rest.clearHandlerSweeper();
});
