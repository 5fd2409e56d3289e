/**
 * A message's whole journey through a running control plane: the API's web
 * chat routes it into the `demo` agent's session, the waker launches the
 * session's sandbox (the real bundled agent), the agent answers through the
 * host's model proxy (mock provider) and rings the doorbell, delivery hands
 * the reply to the web chat, and the drain returns it. Then the same through
 * `ironclaw chat demo --message` as a separate process.
 */
import assert from "node:assert/strict";
import { isolators } from "../../isolator/mod.ts";
import { DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { diagnose, nextReplies, openHost, runIronclaw } from "./harness.ts";
import { answered, okBody, sentSession } from "../support/api.ts";

async function chatJourney(isolator: "process" | "bwrap" | "runsc") {
  await using host = await openHost(isolator);
  const first = await answered(host.api.v1.ui.chat.send.$post({
    json: {
      agentGroupId: DEMO_AGENT_ID,
      text: "hello there",
    },
  }));
  assert.equal(first.status, 202, JSON.stringify(first.body));
  assert.equal(first.body.engaged, true, JSON.stringify(first.body));
  const chatId = first.body.chatId;
  assert.equal(chatId, DEMO_AGENT_ID);
  const sessionId = sentSession(first.body);
  assert.equal(first.body.outcomes[0].wakeError, undefined, first.body.outcomes[0].wakeError);
  assert.deepEqual(await nextReplies(host, chatId), ["mock-agent received: hello there"]);
  assert.equal((await host.plane.isolator()).isolator.kind, isolator);

  // The same conversation carries on, in the same session and sandbox.
  const second = await answered(host.api.v1.ui.chat.send.$post({
    json: {
      agentGroupId: DEMO_AGENT_ID,
      text: "and a second one",
      chatId,
    },
  }));
  assert.equal(second.status, 202);
  assert.equal(second.body.outcomes[0].sessionId, sessionId);
  assert.deepEqual(await nextReplies(host, chatId), ["mock-agent received: and a second one"]);
  assert.ok(await host.plane.sandboxes.isRunning(sessionId), await diagnose(host));
  assert.equal(host.plane.registry.getSession(sessionId).containerStatus, "running");
  // Each reply is handed out until acknowledged, and nextReplies acknowledged it.
  assert.deepEqual(
    (await okBody(host.api.v1.ui.chat.drain.$get({ query: { chatId: chatId } }))).messages,
    [],
  );

  // `ironclaw chat` as its own process, in its own chat (and so its own session and sandbox).
  const cli = await runIronclaw(host, ["chat", "demo", "--message", "hi", "--timeout", "120"]);
  assert.equal(cli.code, 0, `${cli.stderr}\n${await diagnose(host)}`);
  assert.equal(cli.stdout.trim(), "mock-agent received: hi");
}

/** Whether a backend runs here at all (installed, root for the sandboxes, its smoke launch passes). */
async function works(kind: "runsc" | "bwrap"): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  const stateDir = Deno.makeTempDirSync({ prefix: `ironclaw-${kind}-check-` });
  try {
    return (await isolators({ stateDir })[kind].check()).ok;
  } finally {
    Deno.removeSync(stateDir, { recursive: true });
  }
}

const bwrapWorks = await works("bwrap");
/**
 * runsc passes here since the host-owned queue lease (lease.sock beside the
 * doorbell) replaced SQLite's file locks, which gVisor keeps inside the
 * sandbox. It is skipped only where gVisor cannot run at all.
 */
const runscWorks = await works("runsc");

Deno.test("e2e (process backend): chat send → agent → reply via drain, twice; ironclaw chat --message", () =>
  chatJourney("process"));

Deno.test({
  name: "e2e (bwrap backend): chat send → namespaced agent → reply via drain, twice; ironclaw chat --message",
  ignore: !bwrapWorks,
  fn: () => chatJourney("bwrap"),
});

Deno.test({
  name:
    "e2e (runsc backend): chat send → gVisor-sandboxed agent → reply via drain, twice; ironclaw chat --message",
  ignore: !runscWorks,
  fn: () => chatJourney("runsc"),
});
