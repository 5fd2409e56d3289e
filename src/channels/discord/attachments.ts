/**
 * Inbound files: a message's attachment is fetched from Discord's CDN only
 * once the router writes the message to some session (a sender the policy
 * drops costs no download and leaves no file), once however many sessions
 * take it, and placed in each one's workspace before that session is woken;
 * the message names the path the agent sees, or why there is no file (too
 * big, no room, files off on this host). A file whose message a session
 * then refused is taken back. One attachment a message (the first); the
 * others are named as not saved.
 *
 * @module
 */
import type { APIAttachment } from "@discordjs/core";
import { readCapped } from "../../http/mod.ts";
import type { InboundEvent, RoutedSession } from "../../router/mod.ts";
import {
  type Attachment,
  attachmentLine,
  DEFAULT_MAX_FILE_BYTES,
  type InboundFiles,
  safeFileName,
  tooLargeReason,
} from "../kit/mod.ts";
import type { DiscordClient } from "./client.ts";
import type { ParsedMessage } from "./inbound.ts";

/** A file placed in a session's workspace for the message being routed. */
export interface Placement {
  target: RoutedSession;
  relativePath: string;
}

/** How long one download may take. */
const DOWNLOAD_TIMEOUT_MS = 120_000;

/** A Discord attachment as the kit names it (its CDN URL is the handle). */
export function attachmentOf(a: APIAttachment): Attachment {
  return {
    fileId: a.url,
    name: safeFileName(a.filename),
    size: a.size,
    ...(a.content_type ? { mimeType: a.content_type } : {}),
  };
}

/** Fetches attachments into the workspaces of the sessions that take their message. */
export class AttachmentIntake {
  #client: DiscordClient;
  #files?: InboundFiles;

  /** Without `files` attachments are only named (files are not enabled on this host). */
  constructor(client: DiscordClient, files?: InboundFiles) {
    this.#client = client;
    this.#files = files;
  }

  /**
   * The router event of message `p` with attachments `all` (the first is
   * fetched). Its text names them (engage patterns see that). What is
   * placed is added to `placed`.
   */
  event(p: ParsedMessage, all: APIAttachment[], placed: Placement[]): InboundEvent {
    const [a, ...rest] = all.map(attachmentOf);
    const others = rest.map((o) => attachmentLine(o, { error: "one file a message" }));
    const withLine = (line: string) =>
      [p.event.text, line, ...others].filter((t) => t.trim() !== "").join("\n");
    const files = this.#files;
    if (!files) {
      return {
        ...p.event,
        text: withLine(attachmentLine(a, { error: "files are not enabled on this host" })),
      };
    }
    const max = files.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
    if (a.size !== undefined && a.size > max) {
      return { ...p.event, text: withLine(attachmentLine(a, { error: tooLargeReason(a.size, max) })) };
    }
    let download: Promise<Uint8Array | { error: string }> | undefined;
    return {
      ...p.event,
      text: withLine(attachmentLine(a, "pending")),
      contentFor: async (target) => {
        download ??= this.#download(p, a, max);
        const bytes = await download;
        if (!(bytes instanceof Uint8Array)) return withLine(attachmentLine(a, bytes));
        const file = await files.place(target, a.name, bytes);
        if (!file.ok) return withLine(attachmentLine(a, { error: file.error }));
        placed.push({ target, relativePath: file.relativePath });
        return withLine(attachmentLine(a, file));
      },
    };
  }

  /** Takes back the placed files of sessions not in `kept`. */
  async withdraw(placed: Placement[], kept: Set<string | null>): Promise<void> {
    for (const { target, relativePath } of placed) {
      if (!kept.has(target.sessionId)) await this.#files?.withdraw(target, relativePath);
    }
  }

  /** The attachment's bytes (at most `max`), or why they could not be had. */
  async #download(p: ParsedMessage, a: Attachment, max: number): Promise<Uint8Array | { error: string }> {
    try {
      const response = await this.#client.fetchAttachment(a.fileId, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS));
      if (!response.ok || !response.body) {
        await response.body?.cancel();
        throw new Error(`download failed: HTTP ${response.status}`);
      }
      return await readCapped(response.body, max) ?? { error: tooLargeReason(undefined, max) };
    } catch (err) {
      this.#client.warn("an attachment in channel {channelId} was not fetched: {error}", err, {
        channelId: p.channelId,
      });
      return { error: "the download from Discord failed" };
    }
  }
}
