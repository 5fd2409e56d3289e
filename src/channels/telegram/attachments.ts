/**
 * Inbound files: a message's attachment is fetched only once the router
 * writes the message to some session (so a sender the policy drops costs no
 * download and leaves no file), once however many sessions take it, and
 * placed in each one's workspace before that session is woken; the message
 * names the path the agent sees, or why there is no file (too big, no room
 * on the workspace volume, files off on this host). A file whose message a
 * session then refused is taken back.
 *
 * @module
 */
import type { InboundEvent, RoutedSession } from "../../router/mod.ts";
import { readCapped } from "../../http/mod.ts";
import type { TelegramClient } from "./bot_client.ts";
import {
  type Attachment,
  attachmentLine,
  DEFAULT_MAX_FILE_BYTES,
  type InboundFiles,
  tooLargeReason,
} from "../kit/mod.ts";
import type { ParsedMessage } from "./inbound.ts";

/** A file placed in a session's workspace for the message being routed. */
export interface Placement {
  target: RoutedSession;
  relativePath: string;
}

/** How long one download may take. */
const DOWNLOAD_TIMEOUT_MS = 120_000;

/** Fetches attachments into the workspaces of the sessions that take their message. */
export class AttachmentIntake {
  #client: TelegramClient;
  #files?: InboundFiles;

  /** Without `files` attachments are only named (files are not enabled on this host). */
  constructor(client: TelegramClient, files?: InboundFiles) {
    this.#client = client;
    this.#files = files;
  }

  /**
   * The router event of message `p` with attachment `a`. Its text names the
   * attachment (engage patterns see that). What is placed is added to `placed`.
   */
  event(p: ParsedMessage, a: Attachment, placed: Placement[]): InboundEvent {
    const withLine = (line: string) => [p.event.text, line].filter((t) => t.trim() !== "").join("\n");
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
      const file = await this.#client.call("getFile", () => this.#client.bot.api.getFile(a.fileId));
      if (file.file_size !== undefined && file.file_size > max) {
        return { error: tooLargeReason(file.file_size, max) };
      }
      if (!file.file_path) throw new Error("the server gave no file path");
      const response = await this.#client.fetchFile(file.file_path, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS));
      if (!response.ok || !response.body) {
        await response.body?.cancel();
        throw new Error(`download failed: HTTP ${response.status}`);
      }
      return await readCapped(response.body, max) ?? { error: tooLargeReason(undefined, max) };
    } catch (err) {
      this.#client.warn("an attachment in chat {chatId} was not fetched: {error}", err, { chatId: p.chatId });
      return { error: "the download from Telegram failed" };
    }
  }
}
