import assert from "node:assert/strict";
import type { AuditEntry } from "../contract/mod.ts";
import { DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";
import { servedFakePlane } from "../tests/support/served_plane.ts";

Deno.test("operator registry edits are in the audit chain, and one that changes what a sandbox runs restarts it", async () => {
  await using t = await servedFakePlane();
  const cli = async (...args: string[]) => {
    const io = captureIo();
    assert.equal(await runCli([...args, ...t.flags], io), 0, io.stderr.join("\n"));
    return io.stdout.join("\n");
  };
  // A chosen memory partition: a second member does not move it (that restart is tested below).
  t.plane.registry.setMemoryPartition(DEMO_AGENT_ID, "group");
  const sent = await t.plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "hello" });
  const sessionId = sent.outcomes[0].sessionId!;
  await t.plane.waker.wake(sessionId); // the send does not wait for the start; this waits behind it
  assert.equal(t.isolator.of(sessionId).length, 1);

  // Who may talk to the agent is checked on every message: the running sandbox is left alone.
  await cli("registry", "add-member", "--user", "web:ann", "--agent", DEMO_AGENT_ID);
  await cli("registry", "grant-role", "--user", "web:ann", "--role", "owner");
  assert.equal(t.isolator.of(sessionId).length, 1);
  // The provider is what the sandbox runs with: it restarts with the new one, as after an applied change.
  await cli("registry", "put-agent-group", DEMO_AGENT_ID, "--name", "Demo agent", "--provider", "anthropic");
  const [before, after] = t.isolator.of(sessionId);
  assert.ok(before.stopped);
  assert.ok(after.spec.args?.includes("--provider=anthropic"), after.spec.args?.join(" "));
  // Writing the same again changes nothing a sandbox runs with: no restart.
  await cli("registry", "put-agent-group", DEMO_AGENT_ID, "--name", "Demo agent", "--provider", "anthropic");
  assert.equal(t.isolator.of(sessionId).length, 2);

  const audit: AuditEntry[] = JSON.parse(await cli("audit", "--json"));
  const edits = audit.filter((e) => e.detail?.startsWith("operator ")).map((e) => e.detail!.split(":")[0]);
  assert.deepEqual(edits, [
    "operator add-member member web",
    "operator grant-role role owner of web",
    "operator put-agent-group agent group demo",
    "operator put-agent-group agent group demo",
  ]);
  const providerEdit = audit.find((e) => e.detail?.startsWith("operator put-agent-group"))!;
  assert.equal(providerEdit.stage, "registry");
  assert.match(providerEdit.detail!, /"provider":"mock".*→.*"provider":"anthropic"/);
  assert.match(await cli("audit", "verify"), /^audit chain ok: \d+ lines verified/);
});

Deno.test("deleting an agent group through the API is the operator's audit line", async () => {
  await using t = await servedFakePlane();
  const io = captureIo();
  assert.equal(await runCli(["registry", "put-agent-group", "temp", "--name", "Temp", ...t.flags], io), 0);
  const res = await fetch(`${t.server.url}/v1/registry/agent-groups/temp`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${t.token}` },
  });
  assert.equal(res.status, 200, await res.text());
  const audit = await t.plane.audit.tail(10);
  assert.match(audit.at(-1)!.detail!, /^operator delete-agent-group agent group temp: \{.*\} → null$/);
});

Deno.test("registry remove-member ends a membership: the next chat is refused, with the command that grants it back", async () => {
  await using t = await servedFakePlane();
  const io = captureIo();
  const args = ["registry", "remove-member", "--user", "web:console", "--agent", DEMO_AGENT_ID, ...t.flags];
  assert.equal(await runCli(args, io), 0, io.stderr.join("\n"));
  assert.deepEqual(io.stdout, ["web:console is no longer a member of demo"]);
  assert.equal(t.plane.registry.canAccess("web:console", DEMO_AGENT_ID).allowed, false);
  const chat = captureIo();
  assert.equal(await runCli(["chat", DEMO_AGENT_ID, "-m", "hi", ...t.flags], chat), 1);
  assert.match(
    chat.stderr[0],
    /grant yourself access with: ironclaw registry add-member --user web:console --agent demo$/,
  );
  const audit = await t.plane.audit.tail(5);
  assert.ok(
    audit.some((e) => e.detail?.startsWith("operator remove-member member web:console")),
    JSON.stringify(audit),
  );
});

Deno.test("a membership edit that moves the default memory partition restarts the group's sandboxes with the other /memory", async () => {
  await using t = await servedFakePlane();
  const cli = async (...args: string[]) => {
    const io = captureIo();
    assert.equal(await runCli([...args, ...t.flags], io), 0, io.stderr.join("\n"));
  };
  const sent = await t.plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "hello" });
  const sessionId = sent.outcomes[0].sessionId!;
  await t.plane.waker.wake(sessionId);
  const memory = () => t.isolator.of(sessionId).map((h) => h.spec.memoryDir);
  assert.equal(
    t.plane.registry.listMembers(DEMO_AGENT_ID).length,
    1,
    "the operator is the demo's one member",
  );
  assert.match(memory()[0], new RegExp(`/memory/${DEMO_AGENT_ID}$`));
  await cli("registry", "add-member", "--user", "web:ann", "--agent", DEMO_AGENT_ID);
  assert.equal(memory().length, 2);
  assert.match(memory()[1], new RegExp(`/partitioned-memory/${DEMO_AGENT_ID}/user/[0-9a-f]{32}$`));
  await cli("registry", "add-member", "--user", "web:bob", "--agent", DEMO_AGENT_ID);
  assert.equal(memory().length, 2, "a third member moves nothing: no restart");
  await cli("registry", "remove-member", "--user", "web:bob", "--agent", DEMO_AGENT_ID);
  await cli("registry", "remove-member", "--user", "web:ann", "--agent", DEMO_AGENT_ID);
  assert.equal(memory().length, 3);
  assert.equal(memory()[2], memory()[0]);
});
