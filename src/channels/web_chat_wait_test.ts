import assert from "node:assert/strict";
import type { ChannelMessage } from "../delivery/mod.ts";
import type { Registry } from "../registry/mod.ts";
import type { StateDb } from "../state/mod.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { openTestState } from "../../tests/support/state.ts";
import { WebChat } from "./web_chat.ts";

function inbox(): WebChat & Disposable {
  const dir = tempDir();
  const state: StateDb = openTestState(dir.path);
  const chats = new WebChat({ registry: {} as Registry, router: { route: () => Promise.reject() }, state });
  return Object.assign(chats, {
    [Symbol.dispose]: () => {
      state.close();
      dir[Symbol.dispose]();
    },
  });
}

function reply(platformId: string, content: string): ChannelMessage {
  return {
    id: `m-${content}`,
    channelType: "web",
    platformId,
    threadId: null,
    content,
    timestamp: "2026-01-01T00:00:00.000Z",
  } as ChannelMessage;
}

Deno.test("a waiting drain returns as soon as its chat gets a reply, and only its chat's", async () => {
  using chats = inbox();
  const waiting = chats.drain("c1", 30_000);
  await chats.deliver(reply("c2", "not yours"));
  await chats.deliver(reply("c1", "yours"));
  assert.deepEqual((await waiting).map((i) => i.content), ["yours"]);
  assert.deepEqual((await chats.drain("c2")).map((i) => i.content), ["not yours"]);
  assert.deepEqual(await chats.drain("c1"), [], "each reply is handed out once");
});

Deno.test("a drain with nothing to wait for answers empty; close ends every wait", async () => {
  using chats = inbox();
  assert.deepEqual(await chats.drain("c1"), []);
  assert.deepEqual(await chats.drain("c1", 1), []);
  const waiting = chats.drain("c1", 30_000);
  chats.close();
  assert.deepEqual(await waiting, []);
  // Closed: no more waiting, but what is there is still handed out.
  await chats.deliver(reply("c1", "late"));
  assert.deepEqual((await chats.drain("c1", 30_000)).map((i) => i.content), ["late"]);
});
