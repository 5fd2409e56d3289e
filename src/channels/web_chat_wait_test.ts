import assert from "node:assert/strict";
import type { ChannelMessage } from "../delivery/mod.ts";
import type { Registry } from "../registry/mod.ts";
import type { StateDb } from "../state/mod.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { openTestState } from "../../tests/support/state.ts";
import { WebChat } from "./web_chat.ts";

function inbox(): WebChat & Disposable & { state: StateDb } {
  const dir = tempDir();
  const state: StateDb = openTestState(dir.path);
  const registry = { onWrite: () => {} } as unknown as Registry;
  const chats = new WebChat({ registry, router: { route: () => Promise.reject() }, state });
  return Object.assign(chats, {
    state,
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
  const waiting = chats.drain("c1", { waitMs: 30_000 });
  await chats.deliver(reply("c2", "not yours"));
  await chats.deliver(reply("c1", "yours"));
  const [yours] = await waiting;
  assert.equal(yours.content, "yours");
  assert.deepEqual((await chats.drain("c2")).map((i) => i.content), ["not yours"]);
  chats.acknowledge("c1", yours.seq);
  assert.deepEqual(await chats.drain("c1"), [], "an acknowledged reply is not handed out again");
});

Deno.test("a reply handed to a drain that nobody acknowledged (the client died) is handed out again", async () => {
  using chats = inbox();
  const abandoned = chats.drain("c1", { waitMs: 30_000 });
  await chats.deliver(reply("c1", "first"));
  await abandoned;
  await chats.deliver(reply("c1", "second"));
  const again = await chats.drain("c1", { waitMs: 30_000 });
  assert.deepEqual(again.map((i) => i.content), ["first", "second"]);
  chats.acknowledge("c1", again[0].seq);
  assert.deepEqual((await chats.drain("c1")).map((i) => i.content), ["second"]);
  // An acknowledged reply's content is gone from the outbox; only its id stays (the redelivery guard).
  assert.deepEqual(chats.state.db.all("SELECT id, content FROM web_chat_outbox ORDER BY seq"), [
    { id: "m-first", content: "" },
    { id: "m-second", content: "second" },
  ]);
  await chats.deliver(reply("c1", "first"));
  assert.deepEqual(
    (await chats.drain("c1")).map((i) => i.content),
    ["second"],
    "a redelivery is not shown twice",
  );
});

Deno.test("a drain with nothing to wait for answers empty; close ends every wait", async () => {
  using chats = inbox();
  assert.deepEqual(await chats.drain("c1"), []);
  assert.deepEqual(await chats.drain("c1", { waitMs: 1 }), []);
  const waiting = chats.drain("c1", { waitMs: 30_000 });
  chats.close();
  assert.deepEqual(await waiting, []);
  // Closed: no more waiting, but what is there is still handed out.
  await chats.deliver(reply("c1", "late"));
  assert.deepEqual((await chats.drain("c1", { waitMs: 30_000 })).map((i) => i.content), ["late"]);
});

Deno.test("a wait ends when its client goes away (the signal aborts), handing out nothing", async () => {
  using chats = inbox();
  const gone = new AbortController();
  const waiting = chats.drain("c1", { waitMs: 30_000, signal: gone.signal });
  gone.abort();
  assert.deepEqual(await waiting, []);
  await chats.deliver(reply("c1", "kept"));
  assert.deepEqual((await chats.drain("c1", { signal: gone.signal })).map((i) => i.content), ["kept"]);
});
