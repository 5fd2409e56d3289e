/**
 * The fake Discord speaks the wire protocols the official libraries expect:
 * `@discordjs/core` over `@discordjs/rest` and `@discordjs/ws`, pointed at
 * it, identifies, receives messages, is rate limited and waits, and resumes
 * a dropped connection receiving what it missed once.
 */
import assert from "node:assert/strict";
import { Client, GatewayDispatchEvents, GatewayIntentBits } from "@discordjs/core";
import { REST } from "@discordjs/rest";
import { WebSocketManager } from "@discordjs/ws";
import { FakeDiscord } from "./fake_discord.ts";

Deno.test("fake discord: the official libraries identify, receive, wait out a 429 and resume without loss", async () => {
  await using discord = FakeDiscord.start({ heartbeatMs: 300 });
  const rest = new REST({ api: `${discord.apiRoot}/api`, version: "10" }).setToken(discord.token);
  const gateway = new WebSocketManager({
    token: discord.token,
    intents: GatewayIntentBits.GuildMessages | GatewayIntentBits.DirectMessages,
    rest,
  });
  const client = new Client({ rest, gateway });
  const seen: string[] = [];
  client.on(GatewayDispatchEvents.MessageCreate, ({ data }) => {
    seen.push(data.content);
  });
  await gateway.connect();
  try {
    await discord.waitFor("IDENTIFY", () => discord.connected);
    assert.equal(
      discord.gateway.identifies[0].intents,
      GatewayIntentBits.GuildMessages | GatewayIntentBits.DirectMessages,
    );
    discord.sendUserMessage({ channelId: "100", author: { id: "7" }, content: "one" });
    await discord.waitFor("the first message", () => seen.length === 1);
    await discord.waitFor("a heartbeat", () => discord.gateway.heartbeats > 0);

    discord.failNext({ method: "POST", route: /^\/channels\/100\/messages$/, status: 429, retryAfter: 1 });
    await client.api.channels.createMessage("100", { content: "after the wait" });
    const [limited, sent] = discord.calls.filter((c) => c.route === "/channels/100/messages");
    assert.equal(limited.status, 429);
    assert.equal(sent.status, 200);
    assert.ok(sent.at - limited.at >= 900, `retried ${sent.at - limited.at} ms after the 429`);

    discord.dropConnection();
    discord.sendUserMessage({ channelId: "100", author: { id: "7" }, content: "two (while down)" });
    await discord.waitFor("the resume", () => discord.gateway.resumes.length === 1 && discord.connected);
    discord.sendUserMessage({ channelId: "100", author: { id: "7" }, content: "three" });
    await discord.waitFor("the third message", () => seen.length === 3);
    assert.deepEqual(seen, ["one", "two (while down)", "three"]);
    assert.equal(discord.gateway.identifies.length, 1, "resumed, not identified again");
    assert.equal(discord.gateway.resumes[0].path, "/resume", "resumed at the resume_gateway_url");
    assert.equal(discord.gateway.resumes[0].replayed, 1);
  } finally {
    await gateway.destroy();
  }
});
