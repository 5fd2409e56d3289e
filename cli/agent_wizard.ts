/**
 * The guided `agent create` for a terminal: name, template, the three persona
 * documents, model and tools, then a summary to confirm. Questions go through
 * a {@linkcode Prompter}, so the flow can be driven by a script in tests.
 *
 * @module
 */
import { checkbox, confirm, input, select } from "@inquirer/prompts";
import { AGENT_NAME, deriveAgentGroupId, type PersonaDocs } from "../contract/changes.ts";
import { LEAST_PRIVILEGE_TOOLS, PERSONA_SECTIONS, TEMPLATES, toolCatalog } from "../src/catalog/mod.ts";
import { type AgentProposal, buildAgentProposal, describeProposal } from "./agent_proposal.ts";
import { CliError } from "./errors.ts";
import type { CliIo } from "./output.ts";

/** A choice in a list. */
export interface Choice<T> {
  name: string;
  value: T;
  description?: string;
  checked?: boolean;
}

/** The questions the wizard asks. */
export interface Prompter {
  input(q: { message: string; default?: string; validate?: (v: string) => true | string }): Promise<string>;
  select<T>(q: { message: string; choices: Choice<T>[] }): Promise<T>;
  checkbox<T>(q: { message: string; choices: Choice<T>[] }): Promise<T[]>;
  confirm(q: { message: string; default?: boolean }): Promise<boolean>;
}

/** The terminal prompter (`@inquirer/prompts`). */
export function terminalPrompter(): Prompter {
  return {
    input: (q) => input(q),
    select: (q) => select(q),
    checkbox: (q) => checkbox(q),
    confirm: (q) => confirm(q),
  };
}

/** What to type in a persona answer to drop the template's document. */
export const CLEAR_ANSWER = "-";

/** Checks a name the way `create_agent` will. */
export function validateAgentName(value: string): true | string {
  const name = value.trim();
  if (!name) return "a name is required";
  if (name.length > 64) return "at most 64 characters";
  if (!AGENT_NAME.test(name)) {
    return "start with a letter or digit; use letters, digits, spaces, '.', '_' or '-'";
  }
  return true;
}

/**
 * Asks for everything `agent create` needs and returns the proposal, or
 * undefined when the operator declines at the summary.
 */
export async function runAgentWizard(
  io: CliIo,
  prompter: Prompter = terminalPrompter(),
): Promise<AgentProposal | undefined> {
  try {
    return await ask(io, prompter);
  } catch (err) {
    // Ctrl-C inside a prompt.
    if (err instanceof Error && err.name === "ExitPromptError") throw new CliError("cancelled", 130);
    throw err;
  }
}

async function ask(io: CliIo, prompter: Prompter): Promise<AgentProposal | undefined> {
  const name = (await prompter.input({ message: "Agent name", validate: validateAgentName })).trim();
  io.out(`→ id: ${deriveAgentGroupId({ name })}`);

  const template = await prompter.select({
    message: "Start from a template",
    choices: TEMPLATES.map((t) => ({ name: `${t.name} (${t.id})`, value: t, description: t.description })),
  });

  const persona: PersonaDocs = {};
  for (const section of PERSONA_SECTIONS) {
    const current = template.personaDocs[section.key] ?? "";
    io.out(`${section.title} (${section.filename}): ${section.help}`);
    const answer = await prompter.input({
      message: `${section.title}${current ? ` (Enter keeps the template's, '${CLEAR_ANSWER}' clears)` : ""}`,
      default: current || undefined,
    });
    persona[section.key] = answer.trim() === CLEAR_ANSWER ? "" : answer;
  }

  const model = await prompter.input({ message: "Model (blank: the control plane's default)" });

  const allTools = await prompter.confirm({
    message: "Allow ALL built-in tools, now and future? (No: pick them; least privilege)",
    default: false,
  });
  const selectable = toolCatalog().filter((t) => !t.mandatory);
  const tools = allTools ? [] : await prompter.checkbox({
    message: `Tools (none selected: the least-privilege set, ${
      [...LEAST_PRIVILEGE_TOOLS].join(", ")
    }; asking a human is always available)`,
    choices: selectable.map((t) => ({
      name: `${t.name} — ${t.description}`,
      value: t.name,
      checked: template.tools.includes(t.name),
    })),
  });

  // The checklist is the whole answer, so it replaces the template's list rather than adding to it.
  const proposal = buildAgentProposal({
    name,
    template: "blank",
    tools,
    exactTools: true,
    allTools,
    persona,
    model: model.trim() || undefined,
  });
  for (const line of describeProposal(proposal)) io.out(line);
  return await prompter.confirm({ message: "Submit this for approval?", default: true })
    ? proposal
    : undefined;
}
