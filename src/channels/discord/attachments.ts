/**
 * Discord's side of inbound files (the kit's `AttachmentIntake` does the
 * rest: fetch only once a session takes the message, place, withdraw): an
 * attachment as the kit names it, its download from Discord's CDN, and the
 * message text for more than one attachment (the first is fetched; the
 * others are named as not saved).
 *
 * @module
 */
import type { APIAttachment } from "@discordjs/core";
import type { InboundEvent } from "../../router/mod.ts";
import {
  type Attachment,
  attachmentLine,
  type Download,
  DOWNLOAD_TIMEOUT_MS,
  readResponse,
  safeFileName,
} from "../kit/mod.ts";
import type { DiscordClient } from "./client.ts";

/** A Discord attachment as the kit names it (its signed CDN URL is the handle). */
export function attachmentOf(a: APIAttachment): Attachment {
  return {
    fileId: a.url,
    name: safeFileName(a.filename),
    size: a.size,
    ...(a.content_type ? { mimeType: a.content_type } : {}),
  };
}

/** `event` with every attachment after the first named as not saved (one file a message). */
export function withExtraAttachments(event: InboundEvent, extra: APIAttachment[]): InboundEvent {
  const lines = extra.map((a) => attachmentLine(attachmentOf(a), { error: "one file a message" }));
  return lines.length === 0
    ? event
    : { ...event, text: [event.text, ...lines].filter((t) => t.trim() !== "").join("\n") };
}

/** The download of an attachment through `client` (Discord's CDN only); never throws. */
export function discordDownload(client: DiscordClient): Download {
  return async (a, max) => {
    try {
      return await readResponse(
        await client.fetchAttachment(a.fileId, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS)),
        max,
      );
    } catch (err) {
      client.warn("an attachment was not fetched: {error}", err);
      return { error: "the download from Discord failed" };
    }
  };
}
