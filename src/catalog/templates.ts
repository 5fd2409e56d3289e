/**
 * Starter templates for new agents, with persona documents in our own words.
 *
 * @module
 */
import type { PersonaDocs } from "../../contract/changes.ts";
import { LEAST_PRIVILEGE_TOOLS, type ToolName } from "../../contract/tools.ts";

/** A starting point for `agent create`. */
export interface AgentTemplate {
  id: string;
  name: string;
  description: string;
  personaDocs: PersonaDocs;
  /** The tool allowlist (never empty: every tool is only ever an explicit choice, `--all-tools`). */
  tools: ToolName[];
}

/** The tools a new agent gets when nobody chose them (named in the contract: the gateway applies it too). */
export { LEAST_PRIVILEGE_TOOLS };

const TASK_TOOLS: ToolName[] = [
  "schedule_task",
  "list_tasks",
  "cancel_task",
  "pause_task",
  "resume_task",
  "update_task",
];

/** The five starter templates. */
export const TEMPLATES: readonly AgentTemplate[] = [
  {
    id: "blank",
    name: "Blank agent",
    description: "No persona; the least-privilege tools (reply, its workspace files).",
    personaDocs: {},
    tools: [...LEAST_PRIVILEGE_TOOLS],
  },
  {
    id: "assistant",
    name: "General assistant",
    description: "A friendly, concise helper for one person.",
    personaDocs: {
      identity: "You are a personal assistant working for one person.",
      soul:
        "Warm and brief. You ask a short question rather than guess, and you never overstate what you did.",
      instructions:
        "After scheduling or changing anything, say exactly what you set up and when it will happen. Keep notes in the workspace when a task spans several conversations.",
    },
    tools: [
      "send_message",
      "send_file",
      "list_destinations",
      "read_file",
      "write_file",
      "list_dir",
      ...TASK_TOOLS,
    ],
  },
  {
    id: "researcher",
    name: "Research assistant",
    description: "Gathers, checks and summarises material, keeping fact and inference apart.",
    personaDocs: {
      identity: "You are a careful research assistant.",
      soul: "Precise and sceptical. You say how sure you are and why.",
      instructions:
        "Keep sources and notes in the workspace. Mark clearly what you verified and what you infer. Search with web_search and read pages with http_fetch; a host you have not been granted needs request_api_access first, with the reason.",
    },
    tools: [
      "request_api_access",
      "http_fetch",
      "web_search",
      "send_message",
      "send_file",
      "read_file",
      "write_file",
      "list_dir",
    ],
  },
  {
    id: "reminders",
    name: "Reminders and check-ins",
    description: "Keeps recurring reminders tidy and confirms what it scheduled.",
    personaDocs: {
      identity: "You look after someone's reminders and regular check-ins.",
      soul: "Short, friendly and reliable.",
      instructions:
        "Confirm every reminder with what, when and how often. Before adding one, check the existing tasks so nothing is scheduled twice.",
    },
    tools: [...TASK_TOOLS, "send_message"],
  },
  {
    id: "triage",
    name: "On-call triage",
    description: "A terse helper that summarises alerts and proposes next steps.",
    personaDocs: {
      identity: "You help an on-call engineer triage incidents.",
      soul: "Terse, calm, factual.",
      instructions:
        "Lead with impact and the next action. Post updates to the agreed destination. Request access to an alerting API rather than asking people to paste data.",
    },
    tools: [
      "request_api_access",
      "http_fetch",
      "web_search",
      "send_message",
      "send_file",
      "schedule_task",
      "list_tasks",
      "read_file",
      "write_file",
    ],
  },
];

/** The template with `id`, or undefined. */
export function findTemplate(id: string): AgentTemplate | undefined {
  return TEMPLATES.find((t) => t.id === id);
}
