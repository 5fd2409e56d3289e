import assert from "node:assert/strict";
import type { AgentGroupId, ChangeId } from "../../contract/ids.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { openTestState } from "../../tests/support/state.ts";
import type { AuditInput } from "../audit/mod.ts";
import { changeActor } from "../gateway/mod.ts";
import { Registry } from "../registry/mod.ts";
import { RegistryEdits } from "./registry_edits.ts";

function fixture() {
  const dir = tempDir();
  const state = openTestState(dir.path);
  const registry = new Registry(state);
  const lines: AuditInput[] = [];
  const calls: string[] = [];
  const edits = new RegistryEdits(registry, {
    audit: { append: (entry) => Promise.resolve(void lines.push(entry)) },
    respawnGroup: (group: AgentGroupId) => Promise.resolve(calls.push(`respawn ${group}`)),
    refreshDestinations: (group: AgentGroupId) => Promise.resolve(void calls.push(`refresh ${group}`)),
  });
  return {
    registry,
    lines,
    calls,
    edits,
    [Symbol.dispose]() {
      state.close();
      dir[Symbol.dispose]();
    },
  };
}

Deno.test("an operator's destination edit refreshes the queues' copy, then restarts the group; a no-op does not", async () => {
  using f = fixture();
  const op = f.registry.as("operator");
  op.putAgentGroup({ id: "main", name: "Main" });
  op.addDestination({ agentGroupId: "main", channelType: "slack", platformId: "C2" });
  await f.edits.settled();
  assert.deepEqual(f.calls, ["refresh main", "respawn main"]);
  op.removeDestination({ agentGroupId: "main", channelType: "slack", platformId: "C9" });
  await f.edits.settled();
  assert.deepEqual(f.calls, ["refresh main", "respawn main"]);
  assert.deepEqual(f.lines.map((l) => [l.stage, l.detail?.split(":")[0]]), [
    ["registry", "operator put-agent-group agent group main"],
    ["registry", "operator add-destination destination slack"],
    ["registry", "operator remove-destination destination slack"],
  ]);
});

Deno.test("a change's writes are audited under its id and left to the gateway to restart", async () => {
  using f = fixture();
  f.registry.putAgentGroup({ id: "main", name: "Main" });
  const change = f.registry.as(changeActor("chg_1" as ChangeId));
  change.transaction(() => change.setEnabledTools("main", ["read_file"]));
  await f.edits.settled();
  assert.deepEqual(f.calls, []);
  assert.equal(f.lines[1].changeId, "chg_1");
  assert.match(
    f.lines[1].detail!,
    /^change chg_1 set-enabled-tools agent group main: .*"enabledTools":null.*→.*"read_file"/,
  );
  // The same write by the host (not through the gateway) restarts the group.
  f.registry.setEnabledTools("main", ["list_dir"]);
  await f.edits.settled();
  assert.deepEqual(f.calls, ["respawn main"]);
  assert.match(f.lines[2].changeId, /^reg_[0-9a-f]{16}$/);
});

Deno.test("renaming an agent is audited but restarts nothing: its sandboxes do not run with the name", async () => {
  using f = fixture();
  f.registry.putAgentGroup({ id: "main", name: "Main", provider: "mock" });
  f.registry.putAgentGroup({ id: "main", name: "Main renamed" });
  f.registry.putAgentGroup({ id: "main", name: "Main renamed", model: "m2" });
  await f.edits.settled();
  assert.equal(f.lines.length, 3);
  assert.deepEqual(f.calls, ["respawn main"], "only the model change restarts");
});

Deno.test("a write committed before a crash cut off its audit line gets the line at the next start, once", async () => {
  using dir = tempDir();
  const state = openTestState(dir.path);
  try {
    // The crashed run: the write commits, and no follow-up ran (no RegistryEdits listened).
    new Registry(state).as("operator").putAgentGroup({ id: "main", name: "Main" });
    const lines: AuditInput[] = [];
    const deps = {
      audit: { append: (entry: AuditInput) => Promise.resolve(void lines.push(entry)) },
      respawnGroup: () => Promise.resolve(0),
      refreshDestinations: () => Promise.resolve(),
    };
    // The next start.
    const registry = new Registry(state);
    const edits = new RegistryEdits(registry, deps);
    await edits.settled();
    assert.deepEqual(lines.map((l) => l.detail?.split(":")[0]), [
      "operator put-agent-group agent group main",
    ]);
    assert.match(lines[0].detail!, /\(recovered after a restart\)$/);
    assert.deepEqual(registry.unaudited(), []);
    // An audited write leaves nothing behind for a later start.
    registry.as("operator").putAgentGroup({ id: "main", name: "Renamed" });
    await edits.settled();
    assert.equal(lines.length, 2);
    assert.doesNotMatch(lines[1].detail!, /recovered/);
    assert.deepEqual(registry.unaudited(), []);
  } finally {
    state.close();
  }
});
