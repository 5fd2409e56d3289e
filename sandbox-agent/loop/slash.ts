/**
 * Slash commands, answered by the agent itself without a model call:
 * `/help`, `/status` and `/reset`.
 *
 * @module
 */

/** The commands, in help order. */
export const SLASH_COMMANDS: readonly string[] = ["/help", "/status", "/reset"];

/** True when the message is a slash command (a leading `/`, ignoring whitespace). */
export function isSlashCommand(content: string): boolean {
  return content.trimStart().startsWith("/");
}

/** What `/help` and `/status` report. */
export interface AgentStatus {
  toolNames: readonly string[];
  buffered: number;
  historyExchanges: number;
}

/** A command's reply, and whether it resets the conversation. */
export interface SlashResult {
  reply: string;
  reset: boolean;
}

/** True when the message is `/reset`, which forgets the history: a batch holding one asks no model. */
export function isResetCommand(content: string): boolean {
  return commandWord(content) === "/reset";
}

/** Runs a command; the first word picks it, case-insensitively. */
export function runSlashCommand(content: string, status: AgentStatus): SlashResult {
  const command = commandWord(content);
  switch (command) {
    case "/help": {
      const tools = status.toolNames.length > 0 ? status.toolNames.join(", ") : "none are enabled";
      return { reply: `Commands: ${SLASH_COMMANDS.join(", ")}. Tools: ${tools}.`, reset: false };
    }
    case "/status":
      return {
        reply:
          `Status: ${status.toolNames.length} tools enabled, ${status.buffered} messages in this batch, ` +
          `${status.historyExchanges} earlier exchanges remembered.`,
        reset: false,
      };
    case "/reset":
      return { reply: "Context reset: earlier messages are forgotten.", reset: true };
    default:
      return { reply: `Unknown command ${command}. Try /help.`, reset: false };
  }
}

function commandWord(content: string): string {
  return content.trim().split(/\s+/)[0].toLowerCase();
}
