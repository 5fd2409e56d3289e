/**
 * A corrupted queue file: one session's inbound file is overwritten with
 * garbage while the control plane is down. After the restart that session
 * is parked (or its messages refused) with an operator-visible error, and
 * another session of the same agent keeps answering.
 */
import assert from "node:assert/strict";
import { faultDir } from "./serve_process.ts";
import { drainReplies, openFaultPlane, send } from "./inplane.ts";
import { diagnose, until } from "../e2e/harness.ts";

// BUG (not fixed here): a corrupted session queue file makes POST /v1/ui/chat/send answer 500 "internal error"
// (the router opens the queue and the SqliteError "file is not a database" escapes to the API as unknown);
// the session is not parked and GET /v1/sessions/parked stays empty. Unignore once queue corruption parks
// the session (or is refused with a clear 4xx/5xx naming the damaged file).
Deno.test({
  name: "fault: a corrupted queue file parks its session, visibly; another session answers on",
  ignore: true,
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
    const attempt = await host.api("POST", "/v1/ui/chat/send", {
      agentGroupId: "demo",
      text: "are you there?",
      chatId: "broken",
    });
    // Refused at once with a clear error, or accepted and then parked: either way an operator sees it.
    const refused = attempt.status >= 400 || attempt.body.outcomes?.[0]?.wakeError;
    if (!refused) {
      const parked = await until(async () => {
        const { body } = await host.api("GET", "/v1/sessions/parked");
        return body.length > 0 ? body : undefined;
      }, () => diagnose(host));
      assert.deepEqual(parked.map((p: { sessionId: string }) => p.sessionId), [broken]);
      assert.match(parked[0].reason, /corrupt|not a database|damaged/i, JSON.stringify(parked));
    } else {
      assert.match(JSON.stringify(attempt.body), /corrupt|not a database|damaged/i, JSON.stringify(attempt));
    }
    assert.equal(
      (await host.api("GET", `/v1/registry/sessions/${healthy}`)).body.containerStatus !== "parked",
      true,
    );
    await send(host, "healthy", "still fine?");
    assert.deepEqual(await drainReplies(host, "healthy", 1), ["mock-agent received: still fine?"]);
  },
});
