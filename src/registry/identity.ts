/**
 * Sender identity. A user id is always `<channel>:<handle>`, and the handle a
 * channel reports is cut at its first `:`, so a sender cannot smuggle another
 * namespace into its id (`evil:owner` on slack is `slack:evil`, never
 * `slack:evil:owner` nor `owner`).
 *
 * @module
 */
import { UserId } from "../../contract/ids.ts";
import { validate } from "../state/mod.ts";

/**
 * The user id of `handle` on `channel`: the handle up to its first `:`,
 * both trimmed. Throws `InvalidInputError` when no valid id remains (an
 * empty handle, spaces or control characters).
 */
export function namespaceUserId(channel: string, handle: string): UserId {
  const name = handle.split(":", 1)[0].trim();
  return validate(UserId, `${channel.trim()}:${name}`, "sender id");
}
