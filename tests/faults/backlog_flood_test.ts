/**
 * A flood from many clients at one stopped agent, against `serve` with its
 * defaults: 40 clients, each from its own loopback address and under the
 * per-client rate limit (15 sends against a burst of 40, so the rate limit
 * never answers), send 600 messages into one chat while its agent process
 * is frozen (SIGSTOP). The session's backlog stops at the cap (200): the
 * rest are answered 429 with `Retry-After`, naming the session and its
 * backlog; a second wave adds no row and no byte to the encrypted inbound
 * queue, and the server's memory stays bounded. Once the agent runs again
 * it answers its backlog, and the chat takes and answers messages again.
 */
import assert from "node:assert/strict";
import { openReader } from "../../contract/queue/mod.ts";
import { KeyCustodian, sessionKeyId } from "../../src/keys/mod.ts";
import { DEFAULT_INBOUND_BACKLOG_CAP } from "../../src/session/mod.ts";
import { LIBRARY } from "../support/mod.ts";
import { agentPids, drainReplies } from "./inplane.ts";
import { faultDir, type ServeProcess, startServe, waitFor } from "./serve_process.ts";
import { answered, sentSession } from "../support/api.ts";
import { apiClient } from "../../src/api/mod.ts";

const CLIENTS = 40;
const CHAT = "flood";

function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN) / 1024;
}

/** The session's inbound queue as the host wrote it: rows by status, and the file's size. */
async function inboundOf(stateDir: string, sessionId: string) {
  const keys = await KeyCustodian.open(stateDir);
  const key = await keys.get(sessionKeyId(sessionId as never));
  assert.ok(key, `a key for session ${sessionId}`);
  const path = `${stateDir}/sessions/${sessionId}/in/inbound.db`;
  using db = openReader(path, { library: LIBRARY, key });
  const rows = db.all("SELECT status, COUNT(*) AS n FROM messages_in GROUP BY status ORDER BY status");
  return {
    byStatus: Object.fromEntries(rows.map((r) => [String(r.status), Number(r.n)])),
    total: rows.reduce((sum, r) => sum + Number(r.n), 0),
    bytes: Deno.statSync(path).size,
  };
}

/** `count` sends from each of {@link CLIENTS} clients, each from its own loopback address; status and error of each. */
async function wave(serve: ServeProcess, wave: string, count: number) {
  const answers: { status: number; error?: string; retryAfter: string | null }[] = [];
  await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
    using client = Deno.createHttpClient({ localAddress: `127.0.0.${i + 2}` });
    const api = apiClient(serve.url, {
      headers: { authorization: `Bearer ${serve.token}` },
      fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, { ...init, client }),
    });
    for (let n = 0; n < count; n++) {
      const response = await api.v1.ui.chat.send.$post({
        json: { agentGroupId: "demo", chatId: CHAT, text: `${wave} ${i}.${n}` },
      });
      const body = await response.json();
      answers.push({
        status: response.status,
        error: "error" in body ? body.error : undefined,
        retryAfter: response.headers.get("retry-after"),
      });
    }
  }));
  return answers;
}

Deno.test("fault: a flood from many clients at a stopped agent stops at the session's backlog cap; it drains and answers after", async () => {
  await using dir = faultDir("ironclaw-fault-backlog-");
  const stateDir = `${dir.path}/state`;
  await using serve = await startServe(stateDir);
  const warm = await answered(serve.api.v1.ui.chat.send.$post({
    json: {
      agentGroupId: "demo",
      text: "warm up",
      chatId: CHAT,
    },
  }));
  assert.equal(warm.status, 202, JSON.stringify(warm.body));
  const sessionId = sentSession(warm.body);
  assert.deepEqual(await drainReplies(serve, CHAT, 1, { idle: 4 }), ["mock-agent received: warm up"]);
  // The answer is mirrored into the inbound row right after its delivery: then the backlog is empty.
  await waitFor(
    async () => (await inboundOf(stateDir, sessionId)).byStatus.completed === 1 || undefined,
    async () => JSON.stringify(await inboundOf(stateDir, sessionId)),
  );
  const baseline = rssMiB(serve.pid);

  const pids = agentPids(sessionId);
  assert.ok(pids.length > 0, `the agent of ${sessionId} runs`);
  for (const pid of pids) Deno.kill(pid, "SIGSTOP");
  await using _resume = {
    [Symbol.asyncDispose]: () => {
      for (const pid of pids) {
        try {
          Deno.kill(pid, "SIGCONT");
        } catch {
          // gone
        }
      }
      return Promise.resolve();
    },
  };

  const first = await wave(serve, "first", 8);
  const accepted = first.filter((a) => a.status === 202).length;
  const refused = [...first, ...await wave(serve, "second", 7)].filter((a) => a.status !== 202);
  const atCap = await inboundOf(stateDir, sessionId);
  const summary = `${accepted} accepted, ${refused.length} refused; inbound ${JSON.stringify(atCap)}`;
  assert.equal(accepted, DEFAULT_INBOUND_BACKLOG_CAP, summary);
  assert.equal(refused.length, CLIENTS * 15 - DEFAULT_INBOUND_BACKLOG_CAP, summary);
  const backlogError = new RegExp(
    `^session ${sessionId} has ${DEFAULT_INBOUND_BACKLOG_CAP} unanswered inbound messages ` +
      `\\(its cap is ${DEFAULT_INBOUND_BACKLOG_CAP}\\)`,
  );
  for (const answer of refused) {
    assert.equal(answer.status, 429, JSON.stringify(answer));
    assert.match(answer.error ?? "", backlogError, "refused by the backlog, never by the rate limit");
    assert.equal(answer.retryAfter, "5");
  }
  assert.deepEqual(atCap.byStatus, { completed: 1, queued: DEFAULT_INBOUND_BACKLOG_CAP }, summary);

  // A third wave, all refused, leaves the queue file exactly as it was: nothing grows past the cap.
  const third = await wave(serve, "third", 10);
  assert.deepEqual([...new Set(third.map((a) => a.status))], [429]);
  assert.deepEqual(await inboundOf(stateDir, sessionId), atCap);
  const peak = rssMiB(serve.pid);
  assert.ok(peak - baseline < 100, `RSS ${baseline.toFixed(0)} → ${peak.toFixed(0)} MiB: ${summary}`);
  const metrics = await serve.metrics();
  assert.match(
    metrics,
    new RegExp(
      `ironclaw_inbound_refused_total\\{channel="web",reason="backlog-full"\\} ${refused.length + 400}`,
    ),
  );
  assert.equal(
    serve.output().match(/is shedding messages/g)?.length,
    1,
    "one log line when the session started shedding, not one per refusal",
  );

  // The agent runs again: it answers its whole backlog, and the chat takes new messages once that is mirrored.
  await _resume[Symbol.asyncDispose]();
  const after = await waitFor(
    async () => {
      const sent = await answered(serve.api.v1.ui.chat.send.$post({
        json: {
          agentGroupId: "demo",
          text: "after the flood",
          chatId: CHAT,
        },
      }));
      return sent.status === 202 ? sent : undefined;
    },
    async () => `${JSON.stringify(await inboundOf(stateDir, sessionId))}\n${serve.output().slice(-2000)}`,
  );
  assert.equal(after.body.outcomes[0].sessionId, sessionId);
  const replies = await drainReplies(serve, CHAT, 2, { idle: 4 });
  assert.ok(
    replies.some((r) => r.includes("after the flood")),
    `${replies.map((r) => r.slice(0, 200))}\n${serve.output().slice(-2000)}`,
  );
  assert.match(serve.output(), /takes messages again/);
});
