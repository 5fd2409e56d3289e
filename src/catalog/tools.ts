/**
 * The human-facing tool catalog: a title, a one-line description and a
 * category for every compiled tool (the names come from the contract).
 *
 * @module
 */
import { MANDATORY_TOOLS, type ToolName } from "../../contract/tools.ts";

/** How a tool is presented to an operator. */
export interface ToolInfo {
  name: ToolName;
  title: string;
  description: string;
  category: "files" | "messaging" | "scheduling" | "capabilities" | "agents" | "web";
  /** Present whatever the agent's enabled-tools list says. */
  mandatory: boolean;
}

const INFO: Record<ToolName, Omit<ToolInfo, "name" | "mandatory">> = {
  read_file: {
    title: "Read file",
    description: "Read a text file from the agent's workspace.",
    category: "files",
  },
  write_file: {
    title: "Write file",
    description: "Create or replace a file in the agent's workspace.",
    category: "files",
  },
  list_dir: {
    title: "List directory",
    description: "List a directory of the agent's workspace.",
    category: "files",
  },
  send_message: {
    title: "Send message",
    description: "Send a message to this conversation or to a permitted destination.",
    category: "messaging",
  },
  send_file: {
    title: "Send file",
    description: "Send a text file from the workspace to this conversation or a destination.",
    category: "messaging",
  },
  list_destinations: {
    title: "List destinations",
    description: "List the places this agent is permitted to send to.",
    category: "messaging",
  },
  schedule_task: {
    title: "Schedule task",
    description: "Run a prompt later, once or on a recurrence.",
    category: "scheduling",
  },
  list_tasks: {
    title: "List tasks",
    description: "List this conversation's scheduled tasks.",
    category: "scheduling",
  },
  cancel_task: { title: "Cancel task", description: "Cancel a scheduled task.", category: "scheduling" },
  pause_task: { title: "Pause task", description: "Pause a scheduled task.", category: "scheduling" },
  resume_task: { title: "Resume task", description: "Resume a paused task.", category: "scheduling" },
  update_task: {
    title: "Update task",
    description: "Change a task's prompt, time or recurrence.",
    category: "scheduling",
  },
  ask_user_question: {
    title: "Ask the user",
    description: "Ask the person a question, optionally with answer buttons.",
    category: "messaging",
  },
  request_capability_change: {
    title: "Request a capability change",
    description: "Ask a human to approve a change to this agent's persona, tools, mounts or permissions.",
    category: "capabilities",
  },
  request_api_access: {
    title: "Request API access",
    description: "Ask a human to approve network access to named hosts.",
    category: "capabilities",
  },
  read_persona: {
    title: "Read persona",
    description: "Read this agent's persona documents.",
    category: "agents",
  },
  create_agent: {
    title: "Propose a new agent",
    description: "Propose a new agent (always needs a human's approval).",
    category: "agents",
  },
  http_fetch: {
    title: "Fetch a web page or API",
    description: "Fetch a URL from a host a human approved; pages come back as readable text.",
    category: "web",
  },
  web_search: {
    title: "Search the web",
    description: "Search the web through the backend the host chose (DuckDuckGo, Brave or SearXNG).",
    category: "web",
  },
};

/** The catalog in the contract's tool order. */
export function toolCatalog(): ToolInfo[] {
  return (Object.keys(INFO) as ToolName[]).map((name) => ({
    name,
    ...INFO[name],
    mandatory: MANDATORY_TOOLS.includes(name),
  }));
}
