/**
 * Typed identifiers. Each schema validates and brands, so a `SessionId` can
 * only come from a parse or a generator. Ids that name files or directories
 * (sessions, agent groups, changes) obey the safe-id rule: no path separators,
 * no `..`, no leading dot.
 *
 * @module
 */
import { z } from "zod";

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** True when `id` can name a file or directory without escaping its parent. */
export function isSafeId(id: string): boolean {
  return SAFE_ID.test(id) && !id.includes("..");
}

const safeId = (what: string) =>
  z.string().refine(isSafeId, {
    message:
      `${what} must be 1-128 letters, digits, '.', '_' or '-', start with a letter or digit, and hold no '..'`,
  });

/** One conversation's sandbox and queue pair. */
export const SessionId = safeId("session id").brand<"SessionId">();
export type SessionId = z.infer<typeof SessionId>;

/** An agent (persona, model, tools) that sessions run. */
export const AgentGroupId = safeId("agent group id").brand<"AgentGroupId">();
export type AgentGroupId = z.infer<typeof AgentGroupId>;

/** A chat on some channel (a DM, a group, a web-chat conversation). */
export const MessagingGroupId = safeId("messaging group id").brand<"MessagingGroupId">();
export type MessagingGroupId = z.infer<typeof MessagingGroupId>;

/** A routing rule from a messaging group to an agent group. */
export const WiringId = safeId("wiring id").brand<"WiringId">();
export type WiringId = z.infer<typeof WiringId>;

/** A gateway change request. */
export const ChangeId = safeId("change id").brand<"ChangeId">();
export type ChangeId = z.infer<typeof ChangeId>;

/** A queue message (inbound or outbound). Written by either side, so bounded and plain. */
export const MessageId = z.string().regex(/^[A-Za-z0-9_.:-]{1,160}$/, {
  message: "message id must be 1-160 letters, digits, '_', '.', ':' or '-'",
}).brand<"MessageId">();
export type MessageId = z.infer<typeof MessageId>;

/**
 * The C0 and C1 control characters (Unicode category Cc) as a character-class
 * range. Spelled out rather than `\p{Cc}` so that patterns need no `u` flag and
 * read the same in any JSON Schema validator of the OpenAPI document.
 */
export const CONTROL_CHARS = "\\x00-\\x1f\\x7f-\\x9f";

/** A pattern for 1+ (or, with `allowEmpty`, 0+) characters, none of them a control character. */
export function noControlChars(allowEmpty = false): RegExp {
  return new RegExp(`^[^${CONTROL_CHARS}]${allowEmpty ? "*" : "+"}$`);
}

/** A person or bot, always namespaced by channel: `<channel>:<handle>`. */
export const UserId = z.string().regex(
  new RegExp(`^[a-z][a-z0-9_-]{0,31}:[^\\s:${CONTROL_CHARS}][^\\s${CONTROL_CHARS}]{0,199}$`),
  {
    message: "user id must be '<channel>:<handle>' with no spaces or control characters",
  },
).brand<"UserId">();
export type UserId = z.infer<typeof UserId>;

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** `ses_` + 16 hex. */
export const newSessionId = (): SessionId => `ses_${randomHex(8)}` as SessionId;
/** `mg_` + 16 hex. */
export const newMessagingGroupId = (): MessagingGroupId => `mg_${randomHex(8)}` as MessagingGroupId;
/** `wr_` + 16 hex. */
export const newWiringId = (): WiringId => `wr_${randomHex(8)}` as WiringId;
/** `chg_` + 32 hex. */
export const newChangeId = (): ChangeId => `chg_${randomHex(16)}` as ChangeId;
/** A fresh message id with a prefix naming its origin (`in`, `out`, `sched`, `a2a`, …). */
export const newMessageId = (prefix: string): MessageId =>
  `${prefix}_${Date.now()}_${randomHex(6)}` as MessageId;
