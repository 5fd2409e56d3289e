import assert from "node:assert/strict";
import { DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";
import { servedFakePlane } from "../tests/support/served_plane.ts";

Deno.test("session list|show|unpark|stop: a parked session is shown with why and how to release it, and released", async () => {
  await using t = await servedFakePlane();
  const cli = async (...args: string[]) => {
    const io = captureIo();
    const code = await runCli([...args, ...t.flags], io);
    assert.equal(code, 0, `${args.join(" ")}: ${io.stderr.join("\n")}`);
    return io.stdout;
  };
  const sent = await t.plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "hello" });
  const id = sent.outcomes[0].sessionId!;
  await t.plane.waker.settled(); // the send answered before its sandbox started
  const listed = await cli("session", "list");
  assert.match(listed[0], /^ID\s+AGENT\s+CHAT\s+SANDBOX\s+ACTIVE/);
  assert.match(listed[1], new RegExp(`^${id}\\s+${DEMO_AGENT_ID}\\s+\\S+\\s+running\\s`));

  // The sandbox keeps failing: parked, and the chat is told.
  await t.plane.waker.stop(id);
  for (let i = 0; i < 5; i++) t.plane.backoff.failure(id, `launch failed: try ${i}`);
  assert.match((await cli("session", "list", "--agent", DEMO_AGENT_ID))[1], /PARKED \(5 failures\)/);
  const shown = (await cli("session", "show", id)).join("\n");
  assert.match(shown, /sandbox: {2}PARKED \(5 failures\)/);
  assert.match(shown, /parked: {3}launch failed: try 4/);
  assert.match(shown, new RegExp(`release it with: ironclaw session unpark ${id}`));
  assert.match(shown, /notice: .*kept failing and is parked/);
  const json = JSON.parse((await cli("session", "show", id, "--json")).join("\n"));
  assert.deepEqual(json.parked, { failures: 5, reason: "launch failed: try 4" });

  assert.deepEqual(await cli("session", "unpark", id), [`unparked ${id}`]);
  assert.equal(t.isolator.of(id).length, 2, "relaunched at once");
  assert.match((await cli("session", "list"))[1], /\srunning\s/);

  assert.deepEqual(await cli("session", "stop", id), [`stopped ${id}; its next message starts it again`]);
  assert.match((await cli("session", "list"))[1], /\sstopped\s/);
  assert.equal(t.plane.backoff.parked().length, 0, "a deliberate stop is not a failure");

  const unknown = captureIo();
  assert.equal(await runCli(["session", "unpark", "ses_0000000000000000", ...t.flags], unknown), 1);
  assert.match(unknown.stderr.join("\n"), /404|not found|unknown/i);
  const notParked = captureIo();
  assert.equal(await runCli(["session", "unpark", id, ...t.flags], notParked), 1);
  assert.match(notParked.stderr.join("\n"), /is not parked/);
});
