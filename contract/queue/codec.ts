/**
 * Column ↔ field mapping of queue rows, shared by every role so each table
 * is decoded in exactly one place.
 *
 * @module
 */
import { z } from "zod";
import { Destination, MessageIn, MessageOut, ProcessingAck, SessionRouting, TaskRow } from "../rows.ts";
import type { Database, Row } from "../sqlite/mod.ts";

/** Column lists in SELECT order. */
export const COLUMNS = {
  messagesIn:
    `id, seq, kind, timestamp, status, process_after, recurrence, series_id, tries, "trigger", platform_id, channel_type, thread_id, content, source_session_id, on_wake`,
  messagesOut:
    "id, seq, in_reply_to, timestamp, deliver_after, recurrence, kind, platform_id, channel_type, thread_id, content",
  destinations: "name, display_name, type, channel_type, platform_id, agent_group_id",
} as const;

/** Decodes a `messages_in` row (throws on a malformed row). */
export function decodeMessageIn(r: Row): MessageIn {
  return MessageIn.parse({
    id: r.id,
    seq: r.seq,
    kind: r.kind,
    timestamp: r.timestamp,
    status: r.status,
    processAfter: r.process_after,
    recurrence: r.recurrence,
    seriesId: r.series_id,
    tries: r.tries,
    trigger: r.trigger === 0 ? 0 : 1,
    platformId: r.platform_id,
    channelType: r.channel_type,
    threadId: r.thread_id,
    content: r.content,
    sourceSessionId: r.source_session_id,
    onWake: r.on_wake === 1,
  });
}

/** Decodes a `messages_out` row, reporting instead of throwing. */
export function decodeMessageOut(r: Row): ReturnType<typeof MessageOut.safeParse> {
  return MessageOut.safeParse({
    id: r.id,
    seq: r.seq,
    inReplyTo: r.in_reply_to,
    timestamp: r.timestamp,
    deliverAfter: r.deliver_after,
    recurrence: r.recurrence,
    kind: r.kind,
    platformId: r.platform_id,
    channelType: r.channel_type,
    threadId: r.thread_id,
    content: r.content,
  });
}

/** Decodes a `destinations` row. */
export function decodeDestination(r: Row): Destination {
  return Destination.parse({
    name: r.name,
    displayName: r.display_name,
    type: r.type,
    channelType: r.channel_type,
    platformId: r.platform_id,
    agentGroupId: r.agent_group_id,
  });
}

/** Decodes the `session_routing` row. */
export function decodeSessionRouting(r: Row): SessionRouting {
  return SessionRouting.parse({
    channelType: r.channel_type,
    platformId: r.platform_id,
    threadId: r.thread_id,
  });
}

/** Decodes a `processing_ack` row. */
export function decodeProcessingAck(r: Row): ProcessingAck {
  return ProcessingAck.parse({ messageId: r.message_id, status: r.status, statusChanged: r.status_changed });
}

/**
 * The `processing_ack` rows: all of them, or only those of `messageIds`
 * (primary-key lookups), by message id. A malformed row is left out (the
 * host reads the untrusted agent's file; the agent its own).
 */
export function selectProcessingAcks(db: Database, messageIds?: readonly string[]): ProcessingAck[] {
  const rows = messageIds === undefined
    ? db.all("SELECT message_id, status, status_changed FROM processing_ack ORDER BY message_id")
    : db.all(
      `SELECT message_id, status, status_changed FROM processing_ack
       WHERE message_id IN (SELECT value FROM json_each(?)) ORDER BY message_id`,
      [JSON.stringify(messageIds)],
    );
  return rows.flatMap((r) => {
    try {
      return [decodeProcessingAck(r)];
    } catch {
      return [];
    }
  });
}

/** Decodes `session_state` rows into a map. */
export function decodeSessionState(rows: Row[]): Record<string, string> {
  return Object.fromEntries(rows.map((r) => [String(r.key), String(r.value)]));
}

/** One-line summary of a zod failure, naming the field. */
export function describeZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join(".") || "(row)"}: ${issue.message}` : "invalid";
}

/** Decodes a `tasks` row. */
export function decodeTask(r: Row): TaskRow {
  return TaskRow.parse({
    id: r.id,
    prompt: r.prompt,
    nextRun: r.next_run,
    recurrence: r.recurrence,
    state: r.state,
  });
}
