/**
 * Parity §9.1 #12–#14: the seam between the agent's capability requests and
 * the host's gateway. The sandbox's real `request_capability_change` tool
 * renders a system action; the loop writes it as a `system` outbound row
 * (played here through the sandbox's writer); one delivery pass turns it
 * into exactly one pending change of the requested kind, with the payload as
 * its `after`, and delivers nothing to any channel. The host re-checks every
 * payload itself, whatever the sandbox validated.
 *
 * #13 (skill_install) is adapted: IronClaw has no skills. A `skill_install`
 * row is still never executed (it becomes a `permissions` request whose
 * payload fails the schema, so it is rejected and applies nothing), and the
 * closest thing we have, granting a server from the host's curated MCP
 * catalog (`mcp_access`) or registering a new one (`mcp_register`), waits
 * for a human, while a server outside the catalog is refused.
 *
 * @module
 */
import assert from "node:assert/strict";
import { formatSystemAction } from "../../contract/actions.ts";
import type { ChangeKind } from "../../contract/enums.ts";
import type { SessionId } from "../../contract/ids.ts";
import { HostFixture } from "../support/host.ts";
import { builtinRegistry, Jail, type ToolContext } from "../../sandbox-agent/tools/mod.ts";
import { tempDir } from "../support/mod.ts";

/** What the capability tools are called with (they look at none of it). */
function toolContext(dir: string): ToolContext {
  return {
    workspace: new Jail(dir),
    memory: new Jail(dir),
    persona: "",
    destinations: () => [],
    routing: () => undefined,
  };
}

/** Calls the agent's real tool; returns the system action it produced (or the error the model would see). */
async function requestChange(
  dir: string,
  input: unknown,
): Promise<{ action?: string; error?: string; text?: string }> {
  const result = await builtinRegistry().call("request_capability_change", input, toolContext(dir));
  return result.ok ? { action: result.output.action, text: result.output.text } : { error: result.error };
}

/** A host with fake/C1 wired to g1, one routed message, and its session. */
async function chatting(dir: string, options?: Parameters<typeof HostFixture.open>[1]) {
  const host = await HostFixture.open(dir, options);
  host.seedChat("fake", "C1");
  const routed = await host.router.route({
    channelType: "fake",
    platformId: "C1",
    senderHandle: "alice",
    text: "hi",
  });
  return { host, sessionId: routed.outcomes[0].sessionId as SessionId };
}

/** Writes `content` as a system row from the session's sandbox. */
async function writeSystemRow(host: HostFixture, sessionId: SessionId, id: string, content: string) {
  using agent = await host.agent(sessionId);
  agent.outbound.writeMessageOut({ id, kind: "system", content });
}

Deno.test("parity #12: each capability request becomes exactly one pending change, never a delivery", async (t) => {
  using dir = tempDir();
  const cases: [ChangeKind, unknown][] = [
    ["persona", { instructions: "be terse" }],
    // Adapted: the enabled-tools verifier refuses tools the agent does not have; these two exist.
    ["enabled_tools", ["read_file", "list_dir"]],
    // Not packages: the sealed agent runs no programs, so the kind is refused up front (parity #14 below).
    // Adapted: a routing change must name the chat (or wiring) it changes; filled in per host below.
    ["wiring", { engage: "mention", pattern: "^hey" }],
    // Adapted to our permissions payload (members and role grants), same intent: admit a member.
    ["permissions", { addMembers: ["slack:u42"] }],
    // Adapted: mount sources must be directories under an allowed host prefix (the fixture's `<dir>/mounts`):
    // made and filled in below.
    ["mounts", null],
  ];
  let n = 0;
  for (const [kind, payload] of cases) {
    await t.step(kind, async () => {
      const stateDir = `${dir.path}/k${n++}`;
      Deno.mkdirSync(stateDir);
      const { host, sessionId } = await chatting(stateDir);
      if (kind === "mounts") Deno.mkdirSync(`${stateDir}/mounts/data`, { recursive: true });
      const payloadHere = kind === "mounts"
        ? [{ source: `${stateDir}/mounts/data` }]
        : kind === "wiring"
        ? { messagingGroupId: host.registry.getSession(sessionId).messagingGroupId, ...payload as object }
        : payload;
      await using _host = host;
      const requested = await requestChange(stateDir, {
        kind,
        payload: payloadHere,
        reason: "the user asked",
      });
      assert.equal(requested.error, undefined, requested.error);
      assert.ok(requested.action);
      assert.match(requested.text ?? "", /submitted for human approval/);
      await writeSystemRow(host, sessionId, `sys_${kind}`, requested.action);

      const pass = await host.delivery.deliverSession(sessionId);
      assert.deepEqual(pass.handled.map((h) => [h.id, h.outcome]), [[`sys_${kind}`, "submitted"]]);
      assert.equal(host.fake.delivered.length, 0, "nothing reaches a channel");
      const pending = host.gateway.pending();
      assert.equal(pending.length, 1, JSON.stringify(host.gateway.history()));
      assert.equal(pending[0].request.kind, kind);
      assert.deepEqual(pending[0].request.after, payloadHere);
      assert.equal(pending[0].request.agentGroupId, "g1");
      assert.equal(pending[0].request.requestedBy, `sandbox:${sessionId}`);
      assert.deepEqual(host.gateway.history(), [], "nothing decided, nothing applied");

      // Another pass (or a restart's) files nothing more.
      await host.delivery.deliverAll();
      assert.equal(host.gateway.pending().length, 1);
    });
  }
});

/** A host whose gateway knows an MCP catalog of one curated server. */
function withCatalog(dir: string) {
  return chatting(dir, { mcpServers: new Set(["curated-server"]) });
}

Deno.test("parity #13 (adapted, no skills): a skill_install row is refused; a curated MCP grant waits for a human", async () => {
  using dir = tempDir();
  const { host, sessionId } = await withCatalog(dir.path);
  await using _host = host;
  const { gateway, delivery } = host;

  // The reference's skill_install, as a raw system row: privileged, filed, rejected by the schema, never run.
  await writeSystemRow(
    host,
    sessionId,
    "sys_skill",
    formatSystemAction({ action: "skill_install", payload: { skill: "curated-skill", version: "1.2.0" } }),
  );
  // The closest equivalent: a grant from the host's curated catalog, one outside it, and a new server.
  for (
    const [id, input] of [
      ["sys_curated", { kind: "mcp_access", payload: { server: "curated-server" } }],
      ["sys_uncurated", { kind: "mcp_access", payload: { server: "random-server" } }],
      ["sys_register", {
        kind: "mcp_register",
        payload: { name: "notes", transport: "http", url: "https://notes.example/mcp" },
      }],
    ] as const
  ) {
    const requested = await requestChange(dir.path, input);
    assert.ok(requested.action, requested.error);
    await writeSystemRow(host, sessionId, id, requested.action);
  }

  const pass = await delivery.deliverSession(sessionId);
  assert.deepEqual(pass.retry, []);
  assert.equal(host.fake.delivered.length, 0, "nothing is delivered to a channel");
  const all = [...gateway.pending(), ...gateway.history()];
  assert.equal(all.length, 4, JSON.stringify(all));
  const byAfter = (pred: (after: Record<string, unknown>) => boolean) =>
    all.find((c) => pred((c.request.after ?? {}) as Record<string, unknown>));

  const skill = byAfter((a) => a.skill === "curated-skill");
  assert.equal(skill?.request.kind, "permissions", "an unknown action is a privileged permissions request");
  assert.equal(skill?.status, "rejected", "its payload is no permissions payload: nothing is installed");

  const curated = byAfter((a) => a.server === "curated-server");
  assert.equal(curated?.request.kind, "mcp_access");
  assert.equal(curated?.status, "pending", "a curated grant waits for a human");

  const uncurated = byAfter((a) => a.server === "random-server");
  assert.equal(uncurated?.status, "rejected");
  assert.match(uncurated?.reason ?? "", /unknown MCP server/);

  const registered = byAfter((a) => a.name === "notes");
  assert.equal(registered?.request.kind, "mcp_register");
  assert.equal(registered?.status, "pending", "registering a server waits for a human");

  assert.deepEqual(gateway.pending().map((c) => c.request.kind).sort(), ["mcp_access", "mcp_register"]);
  assert.deepEqual(host.registry.getLaunchSpec("g1").mcpGrants, [], "nothing was granted");
});

Deno.test("parity #14 (adapted): packages are refused up front, by the agent's tool and again at the host", async () => {
  using dir = tempDir();
  const { host, sessionId } = await chatting(dir.path);
  await using _host = host;
  const good = { apt: ["ripgrep"], npm: ["@scope/pkg"] };
  const bad = { npm: ["left-pad; rm -rf /"] };
  // The agent's tool does not offer the kind: nothing leaves the sandbox…
  const refused = await requestChange(dir.path, { kind: "packages", payload: good });
  assert.equal(refused.action, undefined);
  assert.match(refused.error ?? "", /invalid input for request_capability_change/);
  // …and a compromised agent that writes one anyway, well-formed or not, is rejected at the host with the reason.
  for (const [id, payload] of [["sys_good", good], ["sys_bad", bad]] as const) {
    await writeSystemRow(host, sessionId, id, formatSystemAction({ action: "install_packages", payload }));
  }
  await host.delivery.deliverSession(sessionId);
  const all = [...host.gateway.pending(), ...host.gateway.history()];
  assert.equal(host.gateway.pending().length, 0, "nothing waits for a human");
  for (const payload of [good, bad]) {
    const record = all.find((c) => JSON.stringify(c.request.after) === JSON.stringify(payload));
    assert.equal(record?.status, "rejected", JSON.stringify(record));
    assert.equal(record?.verdict, "reject");
  }
  const goodRecord = all.find((c) => JSON.stringify(c.request.after) === JSON.stringify(good));
  assert.match(goodRecord?.reason ?? "", /the sealed agent runs no programs/);
  assert.deepEqual(host.registry.getLaunchSpec("g1").packages, { apt: [], npm: [] }, "nothing installed");
});
