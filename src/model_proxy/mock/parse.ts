/**
 * Request parsing shared by the mock's API dialects.
 *
 * @module
 */
import type { z } from "zod";

/** A parsed request, or why it is invalid (for a 400). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** Parses a JSON body against `schema`; the message names the first offending field. */
export function parseJsonBody<T>(schema: z.ZodType<T>, body: Uint8Array): Parsed<T> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return { ok: false, message: "request body is not valid JSON" };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  return { ok: false, message: `${issue.path.join(".") || "body"}: ${issue.message}` };
}

/** Text parts of a content array (`{type: "text", text}`), joined by newlines. */
export function joinText(parts: readonly { type: string; text?: string }[]): string {
  return parts.flatMap((p) => p.type === "text" && p.text !== undefined ? [p.text] : []).join("\n");
}
