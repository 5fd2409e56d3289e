import assert from "node:assert/strict";
import { CreateAgentPayload, PersonaDocs, ToolName } from "../../contract/mod.ts";
import { PERSONA_SECTIONS, TEMPLATES, toolCatalog } from "./mod.ts";

Deno.test("the catalog covers every compiled tool exactly once, mandatory ones flagged", () => {
  const names = toolCatalog().map((t) => t.name);
  assert.deepEqual(names, ToolName.options);
  assert.deepEqual(toolCatalog().filter((t) => t.mandatory).map((t) => t.name).sort(), [
    "ask_user_question",
    "request_capability_change",
  ]);
});

Deno.test("templates are valid create_agent material", () => {
  assert.deepEqual(TEMPLATES.map((t) => t.id), ["blank", "assistant", "researcher", "reminders", "triage"]);
  for (const t of TEMPLATES) {
    assert.ok(PersonaDocs.safeParse(t.personaDocs).success, t.id);
    assert.ok(
      CreateAgentPayload.safeParse({ name: t.name, persona: t.personaDocs, enabled_tools: t.tools }).success,
      t.id,
    );
  }
});

Deno.test("persona sections map keys to their files", () => {
  assert.deepEqual(PERSONA_SECTIONS.map((s) => `${s.key}:${s.filename}`), [
    "identity:IDENTITY.md",
    "soul:SOUL.md",
    "instructions:AGENTS.md",
  ]);
});
