/**
 * A gVisor sandbox killed with SIGKILL (runsc, its Sentry and gofer) right
 * as a message is rung: the agent there holds its outbound lock and journal
 * for its life (`--queue-locks=private`), so this is the kill -9 of a writer
 * in that mode. The plane relaunches it, the new agent rolls back whatever
 * was cut short, and the message is answered exactly once; the next one too.
 * And one killed after its model request left but before its engage turn
 * ended (the `processing` commit runs while the model works): answered once.
 */
import assert from "node:assert/strict";
import { faultDir } from "./serve_process.ts";
import { drainReplies, openFaultPlane, send } from "./inplane.ts";
import { backendWorks, diagnose } from "../e2e/harness.ts";
import type { SessionId } from "../../contract/ids.ts";
import { CONSOLE_USER_ID } from "../../src/control_plane/mod.ts";
import { anthropicText, contentText } from "../support/agent_model_server.ts";

/** The host processes of the runsc sandbox serving `sessionId` (its id is on their command lines). */
function sandboxPids(sessionId: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (cmd.includes("runsc") && cmd.includes(sessionId)) pids.push(Number(entry.name));
    } catch {
      // gone
    }
  }
  return pids;
}

Deno.test({
  name: "fault (runsc): a sandbox SIGKILLed as a message is rung is relaunched and answers it once",
  ignore: !(await backendWorks("runsc")),
  fn: async () => {
    await using dir = faultDir("ironclaw-fault-runsc-");
    await using host = await openFaultPlane(dir.path, { isolator: "runsc" });
    const sessionId = await send(host, "k", "warm up");
    assert.deepEqual(
      await drainReplies(host, "k", 1),
      ["mock-agent received: warm up"],
      await diagnose(host),
    );
    const pids = sandboxPids(sessionId);
    assert.ok(pids.length > 0, "the sandbox's processes are found");

    await send(host, "k", "are you still there?");
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // already gone with its parent
      }
    }
    assert.deepEqual(
      await drainReplies(host, "k", 1),
      ["mock-agent received: are you still there?"],
      await diagnose(host),
    );
    await send(host, "k", "and again");
    assert.deepEqual(await drainReplies(host, "k", 1), ["mock-agent received: and again"]);
  },
});

Deno.test({
  name:
    "fault (runsc): a sandbox SIGKILLed after its model request left, before its engage commit ended, answers once",
  ignore: !(await backendWorks("runsc")),
  fn: async () => {
    let sessionId: SessionId | undefined;
    let killedAt: string | undefined;
    const asked: string[] = [];
    // A stand-in for api.anthropic.com: kills the sandbox when a request arrives while its agent still holds
    // the engage turn's lease (its request went out before that turn's commit), once.
    const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const body = await req.json();
      const text = contentText(body.messages.at(-1).content);
      const message = text.match(/msg-\d+/g)?.at(-1) ?? "?";
      asked.push(message);
      const holding = sessionId !== undefined && host.plane.queues.lease(sessionId).agentHolding;
      if (killedAt === undefined && message !== "msg-1" && holding) {
        killedAt = message;
        for (const pid of sandboxPids(sessionId!)) {
          try {
            Deno.kill(pid, "SIGKILL");
          } catch {
            // already gone with its parent
          }
        }
      }
      return anthropicText(`reply to ${message}`);
    });
    await using dir = faultDir("ironclaw-fault-runsc-engage-");
    await using host = await openFaultPlane(dir.path, {
      isolator: "runsc",
      credentials: (h) => h === "api.anthropic.com" ? "sk-ant-fake" : undefined,
      upstreams: [{ host: "api.anthropic.com", baseUrl: `http://127.0.0.1:${upstream.addr.port}` }],
    });
    try {
      host.plane.registry.putAgentGroup({ id: "claude", name: "Claude agent", provider: "anthropic" });
      host.plane.registry.addMember(CONSOLE_USER_ID, "claude");
      sessionId = await send(host, "k", "msg-1", "claude") as SessionId;
      assert.deepEqual(await drainReplies(host, "k", 1), ["reply to msg-1"], await diagnose(host));
      // The kill needs the request to arrive within the engage commit: a few tries at most.
      for (let n = 2; n <= 6 && killedAt === undefined; n++) {
        await send(host, "k", `msg-${n}`, "claude");
        assert.deepEqual(await drainReplies(host, "k", 1), [`reply to msg-${n}`], await diagnose(host));
      }
      assert.ok(killedAt, `no request arrived while the engage turn was open: asked ${asked}`);
      await send(host, "k", "msg-7", "claude");
      assert.deepEqual(await drainReplies(host, "k", 1), ["reply to msg-7"]);
      assert.equal(
        asked.filter((m) => m === killedAt).length,
        2,
        "the killed turn's message was asked again",
      );
    } finally {
      await upstream.shutdown();
    }
  },
});
