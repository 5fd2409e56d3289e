import assert from "node:assert/strict";
import { DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";
import { servedFakePlane } from "../tests/support/served_plane.ts";

Deno.test("agent delete: refused while a change waits, then approved: sandboxes stop, the group goes with an audit line, its workspace is kept aside", async () => {
  await using t = await servedFakePlane();
  const cli = async (...args: string[]) => {
    const io = captureIo();
    const code = await runCli([...args, ...t.flags], io);
    return { code, out: io.stdout, err: io.stderr.join("\n") };
  };
  const sent = await t.plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "keep a note" });
  const sessionId = sent.outcomes[0].sessionId!;
  await t.plane.waker.wake(sessionId); // the send does not wait for the start; this waits behind it
  assert.ok(await t.plane.sandboxes.isRunning(sessionId, { probe: false }));
  const ws = await t.plane.sandboxes.workspaceDir(sessionId, DEMO_AGENT_ID);
  await Deno.writeTextFile(`${ws}/note.txt`, "milk");

  const persona = await cli(
    "change",
    "submit",
    "--kind",
    "persona",
    "--agent",
    DEMO_AGENT_ID,
    "--after",
    '{"soul":"x"}',
  );
  assert.equal(persona.code, 0, persona.err);
  const personaId = /chg_[0-9a-f]+/.exec(persona.out.join(" "))![0];
  const refused = await cli("agent", "delete", DEMO_AGENT_ID);
  assert.equal(refused.code, 1);
  assert.match(
    refused.err,
    new RegExp(`deleting ${DEMO_AGENT_ID} was refused: .*decide its pending change ${personaId} first`),
  );
  assert.equal((await cli("change", "reject", personaId)).code, 0);

  const proposed = await cli("agent", "delete", DEMO_AGENT_ID, "--reason", "replaced by home-helper");
  assert.equal(proposed.code, 0, proposed.err);
  const changeId = /chg_[0-9a-f]+/.exec(proposed.out[0])![0];
  assert.match(
    proposed.out[0],
    new RegExp(`^submitted ${changeId}: delete agent ${DEMO_AGENT_ID} \\(pending\\)$`),
  );
  assert.match(
    proposed.out.join("\n"),
    /deletes agent: .*\n.*with: 1 session\(s\).*\n.*kept aside on the host/,
  );
  assert.ok(t.plane.registry.hasAgentGroup(DEMO_AGENT_ID), "nothing happens before a human approves");

  const approved = await cli("change", "approve", changeId);
  assert.equal(approved.code, 0, approved.err);
  assert.equal(t.plane.registry.hasAgentGroup(DEMO_AGENT_ID), false);
  assert.equal(
    await t.plane.sandboxes.isRunning(sessionId, { probe: false }),
    false,
    "its sandbox is stopped",
  );
  assert.deepEqual(t.plane.registry.listSessions().filter((s) => s.id === sessionId), []);
  assert.match(
    (await cli("agent", "list")).out.join("\n"),
    new RegExp(`^(?![\\s\\S]*^${DEMO_AGENT_ID}\\s)`, "m"),
  );

  const audit = (await cli("audit", "--limit", "50")).out.join("\n");
  assert.match(audit, new RegExp(`apply.*${changeId}.*delete_agent|delete_agent.*${changeId}`));
  assert.match(audit, /delete-agent-group/);
  assert.equal((await cli("audit", "verify")).code, 0);

  // Kept aside, never mounted for a later agent of the same id.
  const deleted = `${t.plane.stateDir}/sandbox/deleted`;
  const [aside] = [...Deno.readDirSync(deleted)].map((e) => e.name);
  assert.match(aside, new RegExp(`^${DEMO_AGENT_ID}-`));
  const kept = [...Deno.readDirSync(`${deleted}/${aside}`)].map((e) => e.name);
  // On an ext4 image (as root) the note is inside the image; on plain directories, in the directory.
  assert.ok(
    kept.includes(`volumes_${DEMO_AGENT_ID}.workspace.img`) ||
      Deno.readTextFileSync(`${deleted}/${aside}/workspaces_${DEMO_AGENT_ID}/${sessionId}/note.txt`) ===
        "milk",
    `kept: ${kept.join(", ")}`,
  );
  assert.ok(kept.includes(`workspaces_${DEMO_AGENT_ID}`));
  assert.equal(
    await Deno.stat(ws).then(() => true, () => false),
    false,
    "nothing is left where a new agent would look",
  );
});
