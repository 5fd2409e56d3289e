/**
 * Queue row shapes. The host validates every outbound row it reads with these
 * schemas (the sandbox is untrusted); the sandbox validates what it reads too.
 * Absent optional values are `null`, as in the database.
 *
 * @module
 */
import { z } from "zod";
import { AgentGroupId, MessageId, SessionId } from "./ids.ts";
import { MessageKind, QueueStatus } from "./enums.ts";
import { Timestamp } from "./time.ts";

/** Largest message body either side accepts, in UTF-16 code units. */
export const MAX_CONTENT_CHARS = 1_048_576;

const Content = z.string().max(MAX_CONTENT_CHARS);
const Short = z.string().max(512);

/** A message from the host to the sandbox (`inbound.db`, host writes, even seq). */
export const MessageIn = z.object({
  id: MessageId,
  seq: z.number().int().nonnegative(),
  kind: MessageKind,
  timestamp: Timestamp,
  status: QueueStatus,
  processAfter: Timestamp.nullable(),
  recurrence: Short.nullable(),
  seriesId: Short.nullable(),
  tries: z.number().int().nonnegative(),
  /** 0 = accumulate only; 1 = engage the agent. */
  trigger: z.union([z.literal(0), z.literal(1)]),
  platformId: Short.nullable(),
  channelType: Short.nullable(),
  threadId: Short.nullable(),
  content: Content,
  sourceSessionId: SessionId.nullable(),
  onWake: z.boolean(),
});
export type MessageIn = z.infer<typeof MessageIn>;

/** What a host writer is given: the seq is minted inside the INSERT unless a fixture pins it. */
export const NewMessageIn = MessageIn.partial({
  seq: true,
  timestamp: true,
  status: true,
  processAfter: true,
  recurrence: true,
  seriesId: true,
  tries: true,
  trigger: true,
  platformId: true,
  channelType: true,
  threadId: true,
  sourceSessionId: true,
  onWake: true,
});
export type NewMessageIn = z.input<typeof NewMessageIn>;

/** A message from the sandbox to the host (`outbound.db`, sandbox writes, odd seq). */
export const MessageOut = z.object({
  id: MessageId,
  seq: z.number().int().positive(),
  inReplyTo: MessageId.nullable(),
  timestamp: Timestamp,
  deliverAfter: Timestamp.nullable(),
  recurrence: Short.nullable(),
  kind: MessageKind,
  platformId: Short.nullable(),
  channelType: Short.nullable(),
  threadId: Short.nullable(),
  content: Content,
});
export type MessageOut = z.infer<typeof MessageOut>;

/** What a sandbox writer is given: seq is always minted, timestamp defaults to now. */
export const NewMessageOut = MessageOut.omit({ seq: true }).partial({
  timestamp: true,
  inReplyTo: true,
  deliverAfter: true,
  recurrence: true,
  platformId: true,
  channelType: true,
  threadId: true,
});
export type NewMessageOut = z.input<typeof NewMessageOut>;

/** The sandbox's acknowledgement of an inbound message. */
export const ProcessingAck = z.object({
  messageId: MessageId,
  status: z.enum(["processing", "completed"]),
  statusChanged: Timestamp,
});
export type ProcessingAck = z.infer<typeof ProcessingAck>;

/** A named place the agent may send to (synced by the host into inbound). */
export const Destination = z.object({
  name: Short.min(1),
  displayName: Short.nullable(),
  type: z.enum(["channel", "agent"]),
  channelType: Short.nullable(),
  platformId: Short.nullable(),
  agentGroupId: AgentGroupId.nullable(),
});
export type Destination = z.infer<typeof Destination>;

/** Where the session's conversation lives (replies go here by default). */
export const SessionRouting = z.object({
  channelType: Short,
  platformId: Short,
  threadId: Short.nullable(),
});
export type SessionRouting = z.infer<typeof SessionRouting>;

/** The host's record that an outbound message reached its channel. */
export const DeliveredMark = z.object({
  messageOutId: MessageId,
  platformMessageId: Short.nullable(),
  status: z.literal("delivered"),
  deliveredAt: Timestamp,
});
export type DeliveredMark = z.infer<typeof DeliveredMark>;

/** A scheduled task of this session, as the host's task store holds it (synced into inbound). */
export const TaskRow = z.object({
  id: Short.min(1),
  prompt: Content,
  /** When it runs next; null once done or cancelled. */
  nextRun: Timestamp.nullable(),
  recurrence: Short.nullable(),
  state: z.enum(["active", "paused", "cancelled", "done"]),
});
export type TaskRow = z.infer<typeof TaskRow>;
