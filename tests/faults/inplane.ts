/**
 * In-process planes for the fault tests: a dev control plane over a
 * {@link faultDir} (the process backend, the shared agent bundle), reopened
 * on the same state directory when a test needs a restart.
 *
 * @module
 */
import type { E2eHost } from "../e2e/harness.ts";
import { openPlane, type PlaneOptions } from "../e2e/plane.ts";
import { answered, sentSession } from "../support/api.ts";
import { drainChat } from "../support/web_chat_client.ts";

export type { E2eHost };

/** Opens a process-backend dev plane over `stateDir`. */
export function openFaultPlane(stateDir: string, options: Partial<PlaneOptions> = {}): Promise<E2eHost> {
  return openPlane(stateDir, { isolator: "process", ...options });
}

/** Sends `text` to the demo agent in chat `chatId`; returns the session id. */
export async function send(
  host: E2eHost,
  chatId: string,
  text: string,
  agentGroupId = "demo",
): Promise<string> {
  const sent = await answered(host.api.v1.ui.chat.send.$post({ json: { agentGroupId, text, chatId } }));
  if (sent.status !== 202) throw new Error(`send answered ${sent.status}: ${JSON.stringify(sent.body)}`);
  return sentSession(sent.body);
}

/**
 * Drains chat `chatId` until `count` replies came (each drain long-polls),
 * then once more briefly, so a duplicate would show. Stops after `idle`
 * empty windows of `waitMs`.
 */
export async function drainReplies(
  host: Pick<E2eHost, "api">,
  chatId: string,
  count: number,
  { waitMs = 15_000, idle = 2 } = {},
): Promise<string[]> {
  const replies: string[] = [];
  for (let empty = 0; replies.length < count && empty < idle;) {
    const got = await drainOnce(host, chatId, waitMs);
    replies.push(...got);
    empty = got.length ? 0 : empty + 1;
  }
  replies.push(...await drainOnce(host, chatId, 1500));
  return replies;
}

async function drainOnce(host: Pick<E2eHost, "api">, chatId: string, waitMs: number): Promise<string[]> {
  return (await drainChat(host.api, { chatId, waitMs })).map((m) => m.content);
}

/** The pids of the agent processes serving `sessionId` (found by its id on their command line). */
export function agentPids(sessionId: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (cmd.includes("ironclaw-agent") && cmd.includes(`/${sessionId}/`)) pids.push(Number(entry.name));
    } catch {
      // gone
    }
  }
  return pids;
}
