import assert from "node:assert/strict";
import type { Question } from "../../questions/mod.ts";
import type { Registry } from "../../registry/mod.ts";
import { NotFoundError } from "../../state/mod.ts";
import { QuestionPoster } from "./question_poster.ts";
import type { PlatformMessage } from "./store.ts";

/** Sessions s_tg (a telegram chat, thread 9), s_other (another channel); any other session is gone. */
const registry = {
  getSession: (id: string) => {
    if (id === "s_tg") return { messagingGroupId: "g_tg", threadId: "9" };
    if (id === "s_other") return { messagingGroupId: "g_other", threadId: null };
    throw new NotFoundError("session", id);
  },
  getMessagingGroup: (id: string) => ({
    channelType: id === "g_tg" ? "telegram" : "slack",
    platformId: "42",
  }),
} as unknown as Pick<Registry, "getSession" | "getMessagingGroup">;

const question = (id: string, sessionId: string) => ({ id, sessionId }) as Question;

Deno.test("question poster: once each, this channel's only, one shared round, a failure left for the next", async () => {
  const recorded = new Map<string, PlatformMessage>();
  const store = {
    question: (id: string) => recorded.get(id),
    recordQuestion: (id: string, chatId: string, messageId: string) =>
      recorded.set(id, { chatId, messageId }),
  };
  const pending = [
    question("q1", "s_tg"),
    question("q2", "s_other"),
    question("q3", "s_gone"),
    question("q4", "s_tg"),
  ];
  let failQ4 = true;
  const sent: string[] = [];
  const warned: unknown[] = [];
  const postedTo: unknown[] = [];
  const poster = new QuestionPoster({
    channel: "telegram",
    registry,
    store,
    desk: { pending: () => pending },
    send: (q, to) => {
      if (q.id === "q4" && failQ4) return Promise.reject(new Error("rate limited"));
      sent.push(`${q.id}@${to.chatId}/${to.threadId}`);
      return Promise.resolve({ chatId: to.chatId, messageId: `m_${q.id}` });
    },
    warn: (_message, _err, extra) => warned.push(extra.questionId),
    onPosted: (chatId, threadId) => postedTo.push({ chatId, threadId }),
  });

  const [a, b] = [poster.post(), poster.post()];
  assert.equal(a, b, "concurrent calls share one round");
  assert.equal(await a, 1);
  assert.deepEqual(sent, ["q1@42/9"]);
  assert.deepEqual(warned, ["q4"]);
  assert.deepEqual(postedTo, [{ chatId: "42", threadId: "9" }]);
  assert.deepEqual(store.question("q1"), { chatId: "42", messageId: "m_q1" });

  failQ4 = false;
  assert.equal(await poster.post(), 1, "the failed one is posted next round, q1 not again");
  assert.deepEqual(sent, ["q1@42/9", "q4@42/9"]);
  await poster.settled();

  const deskless = new QuestionPoster({
    channel: "telegram",
    registry,
    store,
    send: () => assert.fail(),
    warn() {},
  });
  assert.equal(await deskless.post(), 0);
});

Deno.test("question poster: polling posts a question asked between events, until stopped", async () => {
  const recorded = new Map<string, PlatformMessage>();
  const store = {
    question: (id: string) => recorded.get(id),
    recordQuestion: (id: string, chatId: string, messageId: string) =>
      recorded.set(id, { chatId, messageId }),
  };
  const pending: Question[] = [];
  const poster = new QuestionPoster({
    channel: "telegram",
    registry,
    store,
    desk: { pending: () => pending },
    send: (q, to) => Promise.resolve({ chatId: to.chatId, messageId: `m_${q.id}` }),
    warn: () => assert.fail("no round fails here"),
  });
  poster.poll(5);
  pending.push(question("q1", "s_tg"));
  while (!recorded.has("q1")) await new Promise((resolve) => setTimeout(resolve, 5));
  poster.stopPolling();
  await poster.settled();
  assert.deepEqual(store.question("q1"), { chatId: "42", messageId: "m_q1" });
});
