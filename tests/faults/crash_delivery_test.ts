/**
 * kill -9 of the control plane while replies are in flight: `serve --dev`
 * runs as a real process (the host program under the binary's permission
 * flags). Three messages are answered one by one and handed to the web chat
 * but not drained by the client; a fourth is accepted (202) and the server
 * is SIGKILLed at once, before or during its turn; its agents are orphaned.
 * Restarted on the same state directory, the client's drains must see every
 * message answered: no reply lost, and none of the replies accepted before
 * the kill twice.
 */
import assert from "node:assert/strict";
import { drainReplies } from "./inplane.ts";
import { counter, faultDir, startServe, waitFor } from "./serve_process.ts";
import { answered } from "../support/api.ts";

const CHAT = "crash-chat";
const BUFFERED = ["one", "two", "three"];
const IN_FLIGHT = "four";
const reply = (text: string) => `mock-agent received: ${text}`;

/**
 * Runs the crash: three replies accepted by the web chat and not drained, a
 * fourth message in flight at the SIGKILL; returns every reply the client
 * drains from the restarted server (in order), and that server's output.
 */
async function crashMidDelivery(): Promise<{ seen: string[]; output: string }> {
  await using dir = faultDir("ironclaw-fault-crash-");
  const stateDir = `${dir.path}/state`;
  {
    await using serve = await startServe(stateDir);
    for (const [i, text] of BUFFERED.entries()) {
      const sent = await answered(
        serve.api.v1.ui.chat.send.$post({ json: { agentGroupId: "demo", text, chatId: CHAT } }),
      );
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      // Its reply handed to the web chat (not drained): one turn per message.
      await waitFor(async () => {
        const delivered = counter(await serve.metrics(), "ironclaw_deliveries_total");
        return delivered >= i + 1 ? delivered : undefined;
      }, () => serve.output());
    }
    const sent = await answered(serve.api.v1.ui.chat.send.$post({
      json: {
        agentGroupId: "demo",
        text: IN_FLIGHT,
        chatId: CHAT,
      },
    }));
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    await serve.kill9();
    // `serve`'s process group (its orphaned agents) is reaped only when this function ends, as after a real crash.
    await using again = await startServe(stateDir);
    // Drains until all four came, then once more briefly (a duplicate would show then).
    const seen = await drainReplies(again, CHAT, BUFFERED.length + 1);
    return { seen, output: again.output() };
  }
}

// Fixed: replies handed to the web chat but not yet drained used to live only in memory (and were marked
// delivered), so a crash lost them ("one".."three" never came back). The web chat's outbox is now a state-db
// table (`web_chat_outbox`), written before delivery marks the row delivered and keyed by the outbound id, so
// a redelivery after a crash never shows a reply twice.
Deno.test("fault: kill -9 of serve mid-delivery, restart on the same state: no reply is lost", async () => {
  const { seen, output } = await crashMidDelivery();
  const explain = `replies drained: ${JSON.stringify(seen)}; restarted server's output:\n${output}`;
  // Every reply accepted before the kill comes back exactly once.
  for (const text of BUFFERED) {
    assert.equal(seen.filter((s) => s === reply(text)).length, 1, `${reply(text)} exactly once; ${explain}`);
  }
  // The message in flight at the kill is answered exactly once: the killed server's agent outlives it, but
  // stops when its doorbell connection closes, so it cannot answer beside the agent the restarted server
  // launches (it did, in 2 of 4 runs, before that).
  assert.equal(
    seen.filter((s) => s === reply(IN_FLIGHT)).length,
    1,
    `${reply(IN_FLIGHT)} exactly once; ${explain}`,
  );
  assert.deepEqual([...new Set(seen)].sort(), [...BUFFERED, IN_FLIGHT].map(reply).sort(), explain);
});
