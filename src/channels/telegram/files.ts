/**
 * Telegram's attachments: which file of a message is fetched (`getFile`,
 * then the file URL) and under what name; the rest of the file path is the
 * channels' kit (`../kit/files.ts`).
 *
 * @module
 */
import type { Message } from "grammy/types";
import { type Attachment, safeFileName } from "../kit/mod.ts";

/** The message's attachment, if it has one (a photo: its largest size). */
export function attachmentOf(msg: Message): Attachment | undefined {
  const id = msg.message_id;
  if (msg.document) {
    const d = msg.document;
    return {
      fileId: d.file_id,
      name: safeFileName(d.file_name ?? "", `document-${id}`),
      size: d.file_size,
      mimeType: d.mime_type,
    };
  }
  if (msg.photo && msg.photo.length > 0) {
    const p = msg.photo.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
    return { fileId: p.file_id, name: `photo-${id}.jpg`, size: p.file_size, mimeType: "image/jpeg" };
  }
  for (const kind of ["audio", "video", "voice"] as const) {
    const f = msg[kind];
    if (f) {
      const named = "file_name" in f ? f.file_name : undefined;
      return {
        fileId: f.file_id,
        name: safeFileName(named ?? "", `${kind}-${id}`),
        size: f.file_size,
        mimeType: f.mime_type,
      };
    }
  }
  return undefined;
}
