/**
 * kill -9 of the control plane while replies are in flight: `serve --dev`
 * runs as a real process (the host program under the binary's permission
 * flags). Three messages are answered one by one and handed to the web chat
 * but not drained by the client; a fourth is accepted (202) and the server
 * is SIGKILLed at once, before or during its turn; its agents are orphaned.
 * Restarted on the same state directory, the client's drains must see every
 * message answered exactly once: no reply lost, none twice.
 */
import assert from "node:assert/strict";
import { counter, faultDir, startServe, waitFor } from "./serve_process.ts";

const CHAT = "crash-chat";

// BUGS (not fixed here; see the fault-test report): (1) replies handed to the web chat but not yet drained
// live only in memory (WebChat buffer) and are marked delivered, so a crash loses them ("one".."three" never
// come back); (2) the message in flight at the kill is answered twice after the restart (the orphaned agent
// and the relaunched one both answer it; nothing fences the old agent off the queue). Unignore once fixed.
Deno.test({
  name:
    "fault: kill -9 of serve mid-delivery, restart on the same state: every message answered exactly once",
  ignore: true,
  fn: async () => {
    await using dir = faultDir("ironclaw-fault-crash-");
    const stateDir = `${dir.path}/state`;
    const buffered = ["one", "two", "three"];
    const inFlight = "four";
    await using serve = await startServe(stateDir);
    for (const [i, text] of buffered.entries()) {
      const sent = await serve.api("POST", "/v1/ui/chat/send", { agentGroupId: "demo", text, chatId: CHAT });
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      // Its reply handed to the web chat (not drained): one turn per message.
      await waitFor(async () => {
        const delivered = counter(await serve.metrics(), "ironclaw_deliveries_total");
        return delivered >= i + 1 ? delivered : undefined;
      }, () => serve.output());
    }
    const sent = await serve.api("POST", "/v1/ui/chat/send", {
      agentGroupId: "demo",
      text: inFlight,
      chatId: CHAT,
    });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    await serve.kill9();

    await using again = await startServe(stateDir);
    const want = [...buffered, inFlight].map((t) => `mock-agent received: ${t}`);
    const seen: string[] = [];
    for (let idle = 0; seen.length < want.length && idle < 3;) {
      const { status, body } = await again.api("GET", `/v1/ui/chat/drain?chatId=${CHAT}&wait=15000`);
      assert.equal(status, 200, JSON.stringify(body));
      const got = body.messages.map((m: { content: string }) => m.content);
      seen.push(...got);
      idle = got.length ? 0 : idle + 1;
    }
    // A duplicate would show up now.
    const late = await again.api("GET", `/v1/ui/chat/drain?chatId=${CHAT}&wait=2000`);
    seen.push(...late.body.messages.map((m: { content: string }) => m.content));
    assert.deepEqual(
      [...seen].sort(),
      [...want].sort(),
      `every message answered exactly once; restarted server's output:\n${again.output()}`,
    );
  },
});
