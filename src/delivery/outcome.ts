/**
 * How the handling of one outbound row ends, shared by delivery and the
 * handlers it hands rows to (task actions, agent-to-agent sends): the
 * outcome, a {@link Refused} row (ended for good, the agent told), and the
 * note to the agent about its row.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import { stableId, writeOnce } from "../idempotent/mod.ts";
import type { SessionQueues } from "../session/mod.ts";

/** How one row ended. */
export type RowOutcome =
  | "delivered"
  | "scheduled"
  | "asked"
  | "task-answered"
  | "submitted"
  | "ignored"
  | "a2a"
  | "dropped"
  | "refused";

/** What handling a row did. */
export interface Handled {
  outcome: RowOutcome;
  platformMessageId?: string | null;
  detail?: string;
  /** The channel ignores a redelivery of the row, so its delivered mark may wait (see `LAZY_MARK_MS`). */
  markLazily?: boolean;
}

/** A failure that ends the row for good: it is marked handled, and the agent is told when it can act on it. */
export class Refused extends Error {
  override name = "Refused";
  constructor(message: string, readonly tellAgent = true) {
    super(message);
  }
}

/** A note to the session that wrote row `messageId` (written once per row: its id is derived from the row's). */
export async function tellAgent(
  queues: SessionQueues,
  note: { sessionId: SessionId; messageId: string; content: string },
): Promise<void> {
  const id = await stableId("refused", note.sessionId, note.messageId);
  writeOnce(await queues.inboundWriter(note.sessionId), {
    id,
    kind: "system",
    trigger: 0,
    content: note.content,
  });
}

/** The row's content as a JSON object, or undefined when it is none. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A schema failure's first issue, as one line for the agent. */
export function firstIssue(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  if (!issue) return "invalid request";
  return issue.path.length > 0 ? `${issue.path.map(String).join(".")}: ${issue.message}` : issue.message;
}
