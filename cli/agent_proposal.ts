/**
 * The `create_agent` proposal an `agent create` submits: a template, with the
 * operator's persona documents and tools laid over it, validated as the
 * gateway will validate it.
 *
 * @module
 */
import { CreateAgentPayload, deriveAgentGroupId, type PersonaDocs } from "../contract/changes.ts";
import { MANDATORY_TOOLS, ToolName } from "../contract/tools.ts";
import { describeIssue } from "../src/audit/mod.ts";
import {
  type AgentTemplate,
  findTemplate,
  LEAST_PRIVILEGE_TOOLS,
  PERSONA_SECTIONS,
  TEMPLATES,
} from "../src/catalog/mod.ts";
import { CONSOLE_USER_ID } from "../src/control_plane/mod.ts";
import { CliError } from "./errors.ts";

/** What `agent create` is built from, whether by flags or by the wizard. */
export interface AgentDraft {
  name: string;
  /** Folder (and so id); default derived from the name. */
  folder?: string;
  /** Template id (default `blank`). */
  template?: string;
  /** Tools added to the template's list (with `exactTools`, the whole list). */
  tools?: readonly string[];
  /** `tools` is the whole list, not an addition; none chosen means the least-privilege set. */
  exactTools?: boolean;
  /** Every built-in tool, now and later: an explicit choice (`--all-tools`), never a default. */
  allTools?: boolean;
  /** Persona documents laid over the template's. An empty document removes the template's. */
  persona?: PersonaDocs;
  model?: string;
  provider?: string;
  /**
   * Who may talk to the agent once it exists (default: the local operator,
   * {@link CONSOLE_USER_ID}, so its creator can `chat` with it at once).
   */
  members?: readonly string[];
}

/** A `create_agent` change, ready to submit. */
export interface AgentProposal {
  agentGroupId: string;
  payload: CreateAgentPayload;
}

/** The template `id`, or a one-line error listing the known ones. */
export function templateOrFail(id: string): AgentTemplate {
  const template = findTemplate(id);
  if (!template) {
    throw new CliError(
      `unknown template ${JSON.stringify(id)}: expected one of ${TEMPLATES.map((t) => t.id).join(", ")}`,
    );
  }
  return template;
}

/** Parses tool names, refusing unknown ones (see `ironclaw tools`). */
export function parseTools(names: readonly string[]): ToolName[] {
  const unknown = names.filter((n) => !ToolName.safeParse(n).success);
  if (unknown.length) {
    throw new CliError(
      `unknown tool${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}: see \`ironclaw tools\``,
    );
  }
  return names as ToolName[];
}

/**
 * Lays the draft over its template (template documents, then the draft's;
 * empty documents dropped; tools unioned, in catalog order; none at all is
 * the least-privilege set) and validates the result as a `create_agent`
 * payload. Every tool only with `allTools`.
 */
export function buildAgentProposal(draft: AgentDraft): AgentProposal {
  const template = templateOrFail(draft.template ?? "blank");
  const extra = parseTools(draft.tools ?? []);
  if (draft.allTools && extra.length) throw new CliError("--all-tools and --tools exclude each other");
  const merged = { ...template.personaDocs, ...draft.persona };
  const persona = Object.fromEntries(
    PERSONA_SECTIONS.flatMap((s) => (merged[s.key]?.trim() ? [[s.key, merged[s.key]!.trim()]] : [])),
  ) as PersonaDocs;
  const chosen = new Set<string>([...(draft.exactTools ? [] : template.tools), ...extra]);
  if (chosen.size === 0) { for (const t of LEAST_PRIVILEGE_TOOLS) chosen.add(t); }
  const tools = ToolName.options.filter((t) => chosen.has(t));
  const candidate = {
    name: draft.name.trim(),
    folder: draft.folder,
    persona: Object.keys(persona).length ? persona : undefined,
    // Every tool only when asked for; no list at all would be the least-privilege set.
    enabled_tools: draft.allTools ? undefined : tools,
    all_tools: draft.allTools || undefined,
    model: draft.model || undefined,
    provider: draft.provider || undefined,
    members: draft.members?.length === 0 ? undefined : [...draft.members ?? [CONSOLE_USER_ID]],
  };
  const parsed = CreateAgentPayload.safeParse(candidate);
  if (!parsed.success) throw new CliError(`invalid agent: ${describeIssue(parsed.error)}`);
  return { agentGroupId: deriveAgentGroupId(parsed.data), payload: parsed.data };
}

/** The lines summarising a proposal before it is submitted. */
export function describeProposal(p: AgentProposal): string[] {
  const tools = p.payload.enabled_tools;
  return [
    `agent:   ${p.payload.name} (id ${p.agentGroupId})`,
    `model:   ${p.payload.model ?? "(control-plane default)"}${
      p.payload.provider ? ` via ${p.payload.provider}` : ""
    }`,
    `tools:   ${
      !p.payload.all_tools && tools
        ? [...tools, ...MANDATORY_TOOLS.filter((t) => !tools.includes(t))].join(", ")
        : "ALL built-in tools, now and future (--all-tools)"
    }`,
    `persona: ${
      PERSONA_SECTIONS.filter((s) => p.payload.persona?.[s.key]).map((s) => s.filename).join(", ") || "none"
    }`,
    `members: ${
      p.payload.members?.map((m) =>
        m === CONSOLE_USER_ID ? `${m} (you, in \`ironclaw chat\` and the console)` : m
      )
        .join(", ") || "none (add them later with `ironclaw registry add-member`)"
    }`,
  ];
}
