/**
 * Request parsing shared by the mock's API dialects.
 *
 * @module
 */
import type { z } from "zod";

/** A parsed request, or why it is invalid (for a 400). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** A request body as the proxy read it: its text, and its JSON (undefined when it is not JSON). */
export interface MockRequest {
  text: string;
  json: unknown;
}

/** Checks a request's JSON against `schema`; the message names the first offending field. */
export function parseJsonBody<T>(schema: z.ZodType<T>, { json }: MockRequest): Parsed<T> {
  if (json === undefined) return { ok: false, message: "request body is not valid JSON" };
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  return { ok: false, message: `${issue.path.join(".") || "body"}: ${issue.message}` };
}

/** Text parts of a content array (`{type: "text", text}`), joined by newlines. */
export function joinText(parts: readonly { type: string; text?: string }[]): string {
  return parts.flatMap((p) => p.type === "text" && p.text !== undefined ? [p.text] : []).join("\n");
}
