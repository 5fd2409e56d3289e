/**
 * Inbound files: a message's attachment is fetched only once the router
 * writes the message to some session (so a sender the policy drops costs no
 * download and leaves no file), once however many sessions take it, and
 * placed in each one's workspace before that session is woken; the message
 * names the path the agent sees, or why there is no file (too big, no room
 * on the workspace volume, files off on this host). A file whose message a
 * session then refused is taken back. The channel gives the download (its
 * platform's file API, with its credentials).
 *
 * @module
 */
import type { InboundEvent, RoutedSession } from "../../router/mod.ts";
import { readCapped } from "../../http/mod.ts";
import {
  type Attachment,
  attachmentLine,
  DEFAULT_MAX_FILE_BYTES,
  type InboundFiles,
  tooLargeReason,
} from "./files.ts";

/** A file placed in a session's workspace for the message being routed. */
export interface Placement {
  target: RoutedSession;
  relativePath: string;
}

/** How long one download may take. */
export const DOWNLOAD_TIMEOUT_MS = 120_000;

/**
 * Fetches attachment `a` (at most `max` bytes, see {@link readResponse}), or
 * says why not in a line the agent reads; never throws.
 */
export type Download = (a: Attachment, max: number) => Promise<Uint8Array | { error: string }>;

/** Fetches attachments into the workspaces of the sessions that take their message. */
export class AttachmentIntake {
  #download: Download;
  #files?: InboundFiles;

  /** Without `files` attachments are only named (files are not enabled on this host). */
  constructor(download: Download, files?: InboundFiles) {
    this.#download = download;
    this.#files = files;
  }

  /**
   * The router event `event` with attachment `a`. Its text names the
   * attachment (engage patterns see that). What is placed is added to `placed`.
   */
  event(event: InboundEvent, a: Attachment, placed: Placement[]): InboundEvent {
    const withLine = (line: string) => [event.text, line].filter((t) => t.trim() !== "").join("\n");
    const files = this.#files;
    if (!files) {
      return {
        ...event,
        text: withLine(attachmentLine(a, { error: "files are not enabled on this host" })),
      };
    }
    const max = files.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
    if (a.size !== undefined && a.size > max) {
      return { ...event, text: withLine(attachmentLine(a, { error: tooLargeReason(a.size, max) })) };
    }
    let download: Promise<Uint8Array | { error: string }> | undefined;
    return {
      ...event,
      text: withLine(attachmentLine(a, "pending")),
      contentFor: async (target) => {
        download ??= this.#download(a, max);
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
}

/** The body of a download `response` (at most `max` bytes), or why not; throws for a failed HTTP answer. */
export async function readResponse(response: Response, max: number): Promise<Uint8Array | { error: string }> {
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new Error(`download failed: HTTP ${response.status}`);
  }
  return await readCapped(response.body, max) ?? { error: tooLargeReason(undefined, max) };
}
