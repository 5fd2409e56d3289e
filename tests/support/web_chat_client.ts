/**
 * A test's web chat client: drains a chat over the typed API and
 * acknowledges what it got at once (`after=`), as a client that shows every
 * reply the moment it arrives does, so each reply is handed to the test once.
 *
 * @module
 */
import type { ApiRpc } from "../../src/api/mod.ts";
import { okBody } from "./api.ts";

/** The chat's replies (waiting up to `waitMs` for one), acknowledged; throws on a non-2xx answer. */
export async function drainChat(
  api: ApiRpc,
  { chatId, waitMs = 0 }: { chatId: string; waitMs?: number },
): Promise<{ seq: number; content: string }[]> {
  const { messages } = await okBody(api.v1.ui.chat.drain.$get({ query: { chatId, wait: String(waitMs) } }));
  if (messages.length) {
    await okBody(api.v1.ui.chat.drain.$get({ query: { chatId, after: String(messages.at(-1)!.seq) } }));
  }
  return messages;
}
