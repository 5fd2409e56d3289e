/**
 * Benchmark peer: the chat client of the journey benchmark, run as its own
 * process (as a browser or `ironclaw chat` would be) so its work does not
 * share the control plane's event loop.
 *
 * Usage: journey_client.ts <baseUrl> <agentGroupId> <chatPrefix> <chats> <turns> <timeoutMs>
 * (token in $IRONCLAW_API_TOKEN). Chats `<chatPrefix>-0` … run concurrently, each
 * `turns` turns one after the other: `POST /v1/ui/chat/send`, then long-polling
 * `GET /v1/ui/chat/drain` until the reply to that message arrives. Prints one
 * JSON line: `{"turns": [{chat, turn, ms, ok, error?}], "seconds"}`.
 *
 * @module
 */

const [baseUrl, agentGroupId, prefix, chatsArg, turnsArg, timeoutArg] = Deno.args;
const token = Deno.env.get("IRONCLAW_API_TOKEN") ?? "";
const chats = Number(chatsArg);
const turns = Number(turnsArg);
const timeoutMs = Number(timeoutArg);
if (!baseUrl || !agentGroupId || !prefix || !(chats > 0) || !(turns > 0) || !(timeoutMs > 0)) {
  console.error("usage: journey_client.ts <baseUrl> <agentGroupId> <chatPrefix> <chats> <turns> <timeoutMs>");
  Deno.exit(2);
}

/** What the mock model answers (`src/model_proxy/mock`). */
const expectedReply = (text: string) => `mock-agent received: ${text}`;

interface Turn {
  chat: number;
  turn: number;
  ms: number;
  ok: boolean;
  error?: string;
}

const base = baseUrl.replace(/\/$/, "");
const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };

// deno-lint-ignore no-explicit-any
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function turn(chat: number, i: number): Promise<Turn> {
  const chatId = `${prefix}-${chat}`;
  const text = `journey ${chatId} turn ${i}`;
  const start = performance.now();
  const result = (
    ok: boolean,
    { error, at = performance.now() }: { error?: string; at?: number } = {},
  ): Turn => ({
    chat,
    turn: i,
    ms: at - start,
    ok,
    ...(error ? { error } : {}),
  });
  try {
    const sent = await call("POST", "/v1/ui/chat/send", { agentGroupId, text, chatId });
    if (sent.status !== 202) return result(false, { error: `send answered ${sent.status}` });
    const outcome = sent.body.outcomes?.[0];
    if (!sent.body.engaged) return result(false, { error: "not engaged" });
    if (outcome?.wakeError) return result(false, { error: `wake error: ${outcome.wakeError}` });
    const deadline = start + timeoutMs;
    while (performance.now() < deadline) {
      const wait = Math.max(1, Math.min(20_000, Math.round(deadline - performance.now())));
      const drained = await call("GET", `/v1/ui/chat/drain?chatId=${chatId}&wait=${wait}`);
      // The turn ends when the reply is in the client's hands, before it acknowledges it.
      const drainedAt = performance.now();
      if (drained.status !== 200) return result(false, { error: `drain answered ${drained.status}` });
      const messages: { seq: number; content: string }[] = drained.body.messages;
      // Acknowledged at once (the client has them), so the next turn's drain starts after them.
      if (messages.length) {
        await call("GET", `/v1/ui/chat/drain?chatId=${chatId}&after=${messages.at(-1)!.seq}`);
      }
      const contents = messages.map((m) => m.content);
      if (contents.includes(expectedReply(text))) return result(true, { at: drainedAt });
      const stray = contents.find((c) => c !== expectedReply(text));
      if (stray !== undefined) return result(false, { error: `unexpected reply: ${stray.slice(0, 120)}` });
    }
    return result(false, { error: `no reply within ${timeoutMs} ms` });
  } catch (err) {
    return result(false, { error: err instanceof Error ? err.message : String(err) });
  }
}

const started = performance.now();
const results = await Promise.all(Array.from({ length: chats }, async (_, chat) => {
  const mine: Turn[] = [];
  for (let i = 0; i < turns; i++) mine.push(await turn(chat, i));
  return mine;
}));
console.log(JSON.stringify({ turns: results.flat(), seconds: (performance.now() - started) / 1000 }));
