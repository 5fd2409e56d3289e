/**
 * Memory partitions (issue 13, item 11): whose `/memory` each session's agent
 * gets. The host side (registry, router, sandbox manager) picks the directory
 * the sandbox binds at `/memory`; the agent's file tools are confined to that
 * directory (`Jail`), so what one partition wrote is what another's tools can
 * or cannot read. Both sides meet only here, in a cross-cutting test.
 */
import assert from "node:assert/strict";
import type { SessionId } from "../contract/ids.ts";
import { Jail, ToolError } from "../sandbox-agent/tools/mod.ts";
import { groupVolumeDirs, SandboxManager } from "../src/sandbox/mod.ts";
import { FakeIsolator } from "./support/fake_isolator.ts";
import { HostFixture } from "./support/host.ts";
import { LIBRARY, tempDir } from "./support/mod.ts";

async function setup(dir: string) {
  const host = await HostFixture.open(dir);
  host.registry.putAgentGroup({ id: "g1", name: "g1" });
  const isolator = new FakeIsolator();
  const manager = new SandboxManager({
    registry: host.registry,
    queues: host.queues,
    isolator: () => Promise.resolve(isolator),
    proxy: { openSession: () => Promise.resolve(), closeSession: () => Promise.resolve() },
    onOutbound: () => {},
    root: `${dir}/sandbox`,
    library: LIBRARY,
    program: () => Promise.resolve(`${dir}/agent.js`),
    defaultProvider: "mock",
    volumes: false,
  });
  /** Sends `text` from `who` into chat `chat` (a group chat when `room`); returns its session. */
  const say = async (who: string, chat: string, room = false): Promise<SessionId> => {
    const { id } = host.registry.getOrCreateMessagingGroup({
      channelType: "fake",
      platformId: chat,
      isGroup: room,
    });
    if (host.registry.listWiringsForMessagingGroup(id).length === 0) host.seedChat("fake", chat, "g1");
    const routed = await host.router.route({
      channelType: "fake",
      platformId: chat,
      senderHandle: who,
      text: "hi",
    });
    return routed.outcomes[0].sessionId!;
  };
  /** The directory session `sessionId`'s sandbox gets at `/memory` (launched afresh). */
  const memoryOf = async (sessionId: SessionId): Promise<string> => {
    await manager.stop(sessionId);
    await manager.launch(sessionId);
    return isolator.launches.at(-1)!.spec.memoryDir;
  };
  return {
    host,
    manager,
    say,
    memoryOf,
    async [Symbol.asyncDispose]() {
      await manager.close();
      await host[Symbol.asyncDispose]();
    },
  };
}

/** The agent's memory folder as its file tools see it. */
const tools = (memoryDir: string) => new Jail(memoryDir, { seenAs: "/memory" });

async function unreadable(memoryDir: string, path: string): Promise<void> {
  await assert.rejects(tools(memoryDir).readBytes(path), ToolError);
}

Deno.test("memory partition: the default follows the members, an existing group keeps group, and a change is recorded", async () => {
  using dir = tempDir();
  await using t = await setup(dir.path);
  const { registry } = t.host;
  assert.equal(registry.getAgentGroup("g1").memoryPartition, "group");
  assert.equal(registry.getAgentGroup("g1").memoryPartitionChosen, false);
  registry.addMember("fake:alice", "g1");
  assert.equal(registry.getAgentGroup("g1").memoryPartition, "group");
  registry.addMember("fake:bob", "g1");
  assert.equal(registry.getAgentGroup("g1").memoryPartition, "user");
  assert.equal(registry.getLaunchSpec("g1").memoryPartition, "user");
  assert.equal(registry.setMemoryPartition("g1", "group").memoryPartition, "group");
  assert.equal(registry.getAgentGroup("g1").memoryPartitionChosen, true);
  assert.equal(registry.setMemoryPartition("g1", null).memoryPartition, "user");
  assert.throws(() => registry.setMemoryPartition("g1", "everyone" as "group"), /memory partition/);
});

Deno.test("memory partition user: two people never read each other's notes; one person's two chats share theirs", async () => {
  using dir = tempDir();
  await using t = await setup(dir.path);
  t.host.registry.addMember("fake:alice", "g1");
  t.host.registry.addMember("fake:bob", "g1");
  const alice1 = await t.memoryOf(await t.say("alice", "dm-alice"));
  const alice2 = await t.memoryOf(await t.say("alice", "dm-alice-2"));
  const bob = await t.memoryOf(await t.say("bob", "dm-bob"));
  const root = groupVolumeDirs(`${dir.path}/sandbox`, "g1");
  assert.equal(alice1, alice2);
  assert.notEqual(alice1, bob);
  for (const d of [alice1, bob]) {
    assert.ok(d.startsWith(`${root.partitionedMemoryMount}/user/`), d);
    assert.ok(!alice1.startsWith(`${bob}/`) && !bob.startsWith(`${alice1}/`));
  }

  await tools(alice1).writeText("/memory/diary.md", "alice's secret");
  assert.equal(new TextDecoder().decode(await tools(alice2).readBytes("diary.md")), "alice's secret");
  await unreadable(bob, "/memory/diary.md");
  await unreadable(bob, "../user/diary.md");
  assert.deepEqual(await tools(bob).list("."), []);

  // A chat where both talk gets its session's own memory, which neither person's direct chat sees.
  const room = await t.say("alice", "room", true);
  await t.say("bob", "room", true);
  const roomMemory = await t.memoryOf(room);
  assert.equal(roomMemory, `${root.partitionedMemoryMount}/session/${room}`);
  await unreadable(roomMemory, "diary.md");
  // The group's shared memory is none of these.
  assert.ok(![alice1, bob, roomMemory].includes(root.memoryMount));
});

Deno.test("memory partition user: a second person in a direct chat stops its sandbox before the message, and it comes back per session", async () => {
  using dir = tempDir();
  await using t = await setup(dir.path);
  t.host.registry.addMember("fake:alice", "g1");
  t.host.registry.addMember("fake:bob", "g1");
  const session = await t.say("alice", "shared-dm");
  const before = await t.memoryOf(session);
  await tools(before).writeText("diary.md", "alice's secret");
  assert.deepEqual(t.host.waker.stops, []);
  assert.equal(await t.say("bob", "shared-dm"), session);
  assert.deepEqual(t.host.waker.stops, [session]);
  const after = await t.memoryOf(session);
  assert.equal(
    after,
    `${groupVolumeDirs(`${dir.path}/sandbox`, "g1").partitionedMemoryMount}/session/${session}`,
  );
  await unreadable(after, "diary.md");
  // Alice's next message does not bring her memory back into this session.
  await t.say("alice", "shared-dm");
  assert.equal(await t.memoryOf(session), after);
});

Deno.test("memory partition session and group: one memory per conversation, or one for all; nothing is moved on a change", async () => {
  using dir = tempDir();
  await using t = await setup(dir.path);
  t.host.registry.addMember("fake:alice", "g1");
  t.host.registry.setMemoryPartition("g1", "session");
  const one = await t.say("alice", "dm-1");
  const two = await t.say("alice", "dm-2");
  const [m1, m2] = [await t.memoryOf(one), await t.memoryOf(two)];
  assert.notEqual(m1, m2);
  await tools(m1).writeText("note.md", "one");
  await unreadable(m2, "note.md");

  t.host.registry.setMemoryPartition("g1", "group");
  const group = groupVolumeDirs(`${dir.path}/sandbox`, "g1").memoryMount;
  assert.equal(await t.memoryOf(one), group);
  assert.equal(await t.memoryOf(two), group);
  await tools(group).writeText("shared.md", "both");
  await unreadable(group, "note.md");
  // Back to session: the session's own notes are where they were.
  t.host.registry.setMemoryPartition("g1", "session");
  assert.equal(new TextDecoder().decode(await tools(await t.memoryOf(one)).readBytes("note.md")), "one");
});
