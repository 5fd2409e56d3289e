/**
 * Files both ways, for every channel. Inbound: a channel fetches a
 * message's attachment and places it in the workspace of each session the
 * message goes to ({@link InboundFiles}), and the message the agent reads
 * gets a line naming where it lies, or why it is not there
 * ({@link attachmentLine}). Outbound: a reply in the agent's `send_file` form
 * (`[file: path]`, an optional caption line, a blank line, the content) is
 * read by {@link parseFileReply} and goes out as the platform's file.
 *
 * @module
 */
import type { RoutedSession } from "../../router/mod.ts";

/** An attachment of a message, before download. */
export interface Attachment {
  /** The platform's handle to fetch it by (a file id, a URL). */
  fileId: string;
  /** A safe file name (no directories). */
  name: string;
  size?: number;
  mimeType?: string;
}

/** A file placed in a session's workspace, or why it was not. */
export type PlacedFile =
  | {
    ok: true;
    /** Where the agent sees it (e.g. `/workspace/report.pdf`). */
    path: string;
    /** Its path relative to the workspace, as the agent's file tools take it. */
    relativePath: string;
    bytes: number;
  }
  | { ok: false; error: string };

/** Where inbound files go: the workspace of the session a message is written to. */
export interface InboundFiles {
  /** Largest file fetched (default 20 MiB, the Bot API's own download limit). */
  maxBytes?: number;
  /**
   * Places `bytes` under a name derived from `name` (never overwriting a
   * file) in the workspace of `target`'s session; says why not when it
   * cannot (a full volume, say). Never throws.
   */
  place(target: RoutedSession, name: string, bytes: Uint8Array): Promise<PlacedFile>;
  /** Takes back a file {@link place} put in `target`'s workspace whose message was not queued there after all. */
  withdraw(target: RoutedSession, relativePath: string): Promise<void>;
}

/** Largest file fetched by default (the Telegram Bot API's own download limit). */
export const DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024;

/** A file name with no directories and only `[A-Za-z0-9._-]`, at most 100 characters, never dot-led. */
export function safeFileName(name: string, fallback = "file"): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  const cleaned = base.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "").slice(-100);
  return cleaned === "" ? fallback : cleaned;
}

/**
 * The line the agent reads for an attachment: where it was placed (the
 * path the agent sees, and the one its file tools take), that it is on its
 * way (`"pending"`: the text routing sees), or why it was not placed.
 */
export function attachmentLine(
  a: Attachment,
  saved: Extract<PlacedFile, { ok: true }> | { error: string } | "pending",
): string {
  if (saved === "pending") return `[attachment: ${a.name}]`;
  if ("error" in saved) return `[attachment ${a.name} not saved: ${saved.error}]`;
  const type = a.mimeType ? `, ${a.mimeType}` : "";
  return `[attachment: ${saved.path} (${saved.bytes} bytes${type}; in the workspace as ${saved.relativePath})]`;
}

/** Why a file of `size` bytes (unknown: undefined) is refused under a cap of `max` bytes, in units people read. */
export function tooLargeReason(size: number | undefined, max: number): string {
  let [have, limit] = [size === undefined ? "" : formatBytes(size), formatBytes(max)];
  // Sizes that round alike are given exactly, so the line never reads "20.0 MiB, over … 20.0 MiB".
  if (have === limit) [have, limit] = [`${size} bytes`, `${max} bytes`];
  return `${size === undefined ? "it is" : `it is ${have},`} over this host's limit of ${limit} a file`;
}

/** `n` bytes in bytes below 1 MiB, else in MiB to one decimal. */
export function formatBytes(n: number): string {
  return n < 1024 * 1024 ? `${n} bytes` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A reply in `send_file` form, read as a document. */
export interface OutboundDocument {
  name: string;
  caption?: string;
  bytes: Uint8Array;
}

/**
 * The document in `content` when it has the `send_file` form
 * (`[file: path]`, optionally a caption line, a blank line, then the body);
 * otherwise undefined.
 */
export function parseFileReply(content: string): OutboundDocument | undefined {
  const head = /^\[file: ([^\]\n]+)\]\n/.exec(content);
  if (!head) return undefined;
  const rest = content.slice(head[0].length);
  const gap = rest.indexOf("\n\n");
  let caption: string | undefined, body: string;
  if (rest.startsWith("\n")) body = rest.slice(1);
  else if (gap >= 0) {
    caption = rest.slice(0, gap).trim() || undefined;
    body = rest.slice(gap + 2);
  } else return undefined;
  return { name: safeFileName(head[1].trim()), caption, bytes: new TextEncoder().encode(body) };
}
