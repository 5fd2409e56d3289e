/**
 * Every tool compiled into the agent.
 *
 * @module
 */
import { createAgent, requestApiAccess, requestCapabilityChange } from "./capability.ts";
import { askUserQuestion, readPersona } from "./conversation.ts";
import { listDir, readFile, writeFile } from "./files.ts";
import { listDestinations, sendFile, sendMessage } from "./messaging.ts";
import { ToolRegistry } from "./registry.ts";
import { cancelTask, listTasks, pauseTask, resumeTask, scheduleTask, updateTask } from "./tasks.ts";
import type { Tool } from "./tool.ts";
import { httpFetch, webSearch } from "./web.ts";

/** The compiled tool set. */
export const BUILTIN_TOOLS: readonly Tool[] = [
  readFile,
  writeFile,
  listDir,
  sendMessage,
  sendFile,
  listDestinations,
  scheduleTask,
  listTasks,
  cancelTask,
  pauseTask,
  resumeTask,
  updateTask,
  askUserQuestion,
  requestCapabilityChange,
  requestApiAccess,
  readPersona,
  createAgent,
  httpFetch,
  webSearch,
];

/** A registry of the compiled tools, narrowed by an enabled-tools list (empty = all). */
export function builtinRegistry(enabled: readonly string[] = []): ToolRegistry {
  return new ToolRegistry(BUILTIN_TOOLS).filter(enabled);
}
