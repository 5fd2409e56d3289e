/**
 * Routing one platform message, the same on every channel: its attachment
 * (if any) through the {@link AttachmentIntake}, the router, the file taken
 * back from every session that did not take the message, and for each row
 * written the platform message recorded (so replies thread onto it) and its
 * session's shedding episode ended ({@link BacklogNotices}). A full backlog
 * is handed back, not thrown: it is a final answer the channel tells its
 * chat, never a failure to retry.
 *
 * @module
 */
import type { InboundEvent, Router, RouteResult } from "../../router/mod.ts";
import { SessionBacklogFullError } from "../../session/mod.ts";
import type { AttachmentIntake, Placement } from "./attachments.ts";
import type { BacklogNotices } from "./backlog_notices.ts";
import type { Attachment } from "./files.ts";
import type { ChannelStore } from "./store.ts";

/** What routing a message came to: the router's result, or the session that refused it at its backlog cap. */
export type Routed = { route: RouteResult } | { full: SessionBacklogFullError };

/** What a message is routed with. */
export interface RouteMessageInput {
  router: Pick<Router, "route">;
  intake: AttachmentIntake;
  store: ChannelStore;
  notices: BacklogNotices;
  event: InboundEvent;
  /** The message's file, fetched only for the sessions that take it. */
  file?: Attachment;
  /** Where the message is on the platform (recorded against each row written). */
  at: { chatId: string; messageId: string };
}

/** Routes one message (see the module doc); throws what else the router throws, with no file left placed. */
export async function routeMessage(input: RouteMessageInput): Promise<Routed> {
  const { intake, store, notices, at } = input;
  const placed: Placement[] = [];
  const event = input.file ? intake.event(input.event, input.file, placed) : input.event;
  let route: RouteResult;
  try {
    route = await input.router.route(event);
  } catch (err) {
    await intake.withdraw(placed, new Set());
    if (err instanceof SessionBacklogFullError) return { full: err };
    throw err;
  }
  // A file whose message a session then refused (a full backlog, a damaged queue) is taken back.
  await intake.withdraw(placed, new Set(route.outcomes.filter((o) => o.messageId).map((o) => o.sessionId)));
  for (const o of route.outcomes) {
    if (!o.messageId) continue;
    store.recordMessage(o.messageId, 0, at.chatId, at.messageId);
    if (o.sessionId) notices.accepted(o.sessionId);
  }
  return { route };
}
