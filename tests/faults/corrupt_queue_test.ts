/**
 * A corrupted queue file: one session's inbound file is overwritten with
 * garbage while the control plane is down. After the restart that session
 * is parked with an operator-visible reason (its messages refused with a
 * clear error, not a 500), and another session of the same agent keeps
 * answering.
 */
import assert from "node:assert/strict";
import { faultDir } from "./serve_process.ts";
import { drainReplies, openFaultPlane, send } from "./inplane.ts";
import { diagnose, until } from "../e2e/harness.ts";
import { answered, okBody } from "../support/api.ts";

// Fixed: a corrupted session queue file used to make POST /v1/ui/chat/send answer 500 "internal error" (the
// SqliteError escaped the router). Now the queue store reports the damage, the session is parked with it as
// the reason (GET /v1/sessions/parked), and the send answers 503 naming the damaged file.
Deno.test({
  name: "fault: a corrupted queue file parks its session, visibly; another session answers on",
  fn: async () => {
    await using dir = faultDir("ironclaw-fault-corrupt-");
    let broken: string, healthy: string;
    {
      await using host = await openFaultPlane(dir.path);
      broken = await send(host, "broken", "hello");
      healthy = await send(host, "healthy", "hello");
      assert.notEqual(broken, healthy);
      assert.equal((await drainReplies(host, "broken", 1)).length, 1);
      assert.equal((await drainReplies(host, "healthy", 1)).length, 1);
    }
    // Garbage over the first pages of the broken session's inbound file (its header and schema).
    const inbound = `${dir.path}/sessions/${broken}/in/inbound.db`;
    const file = await Deno.open(inbound, { write: true });
    await file.write(new Uint8Array(8192).fill(0x5a));
    file.close();

    await using host = await openFaultPlane(dir.path);
    const attempt = await answered(host.api.v1.ui.chat.send.$post({
      json: {
        agentGroupId: "demo",
        text: "are you there?",
        chatId: "broken",
      },
    }));
    // Refused at once with a clear error (not a 500), or accepted and then parked: either way an operator sees it.
    const refused = attempt.status !== 202 || attempt.body.outcomes[0]?.wakeError;
    if (refused) {
      assert.notEqual(attempt.status, 500, JSON.stringify(attempt));
      assert.match(JSON.stringify(attempt.body), /corrupt|not a database|damaged/i, JSON.stringify(attempt));
    }
    // Parked, with the damage as the reason, in both cases.
    const parked = await until(async () => {
      const body = await okBody(host.api.v1.sessions.parked.$get());
      return body.length > 0 ? body : undefined;
    }, () => diagnose(host));
    assert.deepEqual(parked.map((p: { sessionId: string }) => p.sessionId), [broken]);
    assert.match(parked[0].reason, /corrupt|not a database|damaged/i, JSON.stringify(parked));
    assert.equal(
      (await okBody(host.api.v1.registry.sessions[":id"].$get({ param: { id: broken } })))
        .containerStatus,
      "parked",
    );
    assert.equal(
      (await okBody(host.api.v1.registry.sessions[":id"].$get({ param: { id: healthy } })))
        .containerStatus !== "parked",
      true,
    );
    await send(host, "healthy", "still fine?");
    assert.deepEqual(await drainReplies(host, "healthy", 1), ["mock-agent received: still fine?"]);
  },
});
