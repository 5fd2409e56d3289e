/**
 * Parity §9.1 #9–#11, over the two queue roles as the host and the sandbox
 * each hold them (the host's {@link SessionQueueStore} handles; the
 * sandbox's reader and writer opened with the session key, as the agent
 * does): a host write is seen by a sandbox reader that was already open, on
 * its next poll; the sandbox's rows carry odd, rising seqs; and the
 * sandbox's processing acknowledgements reach the host.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { openOutboundReader } from "../../contract/queue/host.ts";
import { HostFixture } from "../support/host.ts";
import { LIBRARY, tempDir } from "../support/mod.ts";

/** A host with one session of g1 (its files provisioned), and its id. */
async function withSession(dir: string): Promise<{ host: HostFixture; sessionId: SessionId }> {
  const host = await HostFixture.open(dir);
  const { chat } = host.seedChat("fake", "C1");
  const sessionId = host.registry.resolveSession("g1", chat.id, null, "shared").id;
  await host.queues.inboundWriter(sessionId);
  return { host, sessionId };
}

Deno.test("parity #9: a sandbox reader open before the host's write sees it on its next poll", async () => {
  using dir = tempDir();
  const { host, sessionId } = await withSession(dir.path);
  await using _host = host;
  const writer = await host.queues.inboundWriter(sessionId); // the host's handle, kept open throughout
  using agent = await host.agent(sessionId);
  assert.deepEqual(agent.inbound.pendingMessages(), [], "first poll: nothing yet");

  writer.writeMessageIn({ id: "h1", seq: 2, kind: "chat", status: "queued", content: "hello from host" });
  const next = agent.inbound.pendingMessages();
  assert.equal(next.length, 1);
  assert.deepEqual([next[0].id, next[0].seq, next[0].content, next[0].status], [
    "h1",
    2,
    "hello from host",
    "queued",
  ]);
});

Deno.test("parity #10: the sandbox's rows get odd, strictly increasing seqs the host reads back", async () => {
  using dir = tempDir();
  const { host, sessionId } = await withSession(dir.path);
  await using _host = host;
  {
    using agent = await host.agent(sessionId);
    for (const n of [1, 2, 3]) {
      agent.outbound.writeMessageOut({ id: `o${n}`, kind: "chat", content: `reply ${n}` });
    }
  }
  const { messages, invalid } = (await host.queues.outboundReader(sessionId)).dueMessages();
  assert.deepEqual(invalid, []);
  assert.equal(messages.length, 3);
  assert.deepEqual(messages.map((m) => m.id), ["o1", "o2", "o3"]);
  const seqs = messages.map((m) => m.seq);
  assert.ok(seqs.every((s) => s % 2 === 1), `all odd: ${seqs}`);
  assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), `strictly increasing: ${seqs}`);
});

Deno.test("parity #11: processing, then completed acks reach the host (a fresh reader each time)", async () => {
  using dir = tempDir();
  const { host, sessionId } = await withSession(dir.path);
  await using _host = host;
  const writer = await host.queues.inboundWriter(sessionId);
  writer.writeMessageIn({ id: "m1", kind: "chat", content: "one" });
  writer.writeMessageIn({ id: "m2", kind: "chat", content: "two" });
  const opts = { library: LIBRARY, key: await host.queues.sessionKey(sessionId) };
  const hostView = () => {
    using reader = openOutboundReader(host.queues.paths(sessionId).outbound, opts);
    return Object.fromEntries(reader.processingAcks().map((a) => [a.messageId, a.status]));
  };
  using agent = await host.agent(sessionId);

  agent.outbound.markProcessing(["m1", "m2"]);
  assert.deepEqual(hostView(), { m1: "processing", m2: "processing" });
  agent.outbound.markCompleted(["m1", "m2"]);
  assert.deepEqual(hostView(), { m1: "completed", m2: "completed" });

  // Delivery mirrors the acks into the inbound rows: completed rows are no longer pending for the agent.
  const pass = await host.delivery.deliverSession(sessionId);
  assert.equal(pass.statusesAdvanced, 2);
  assert.deepEqual(agent.inbound.pendingMessages(), []);
});
