/**
 * What a server offers: each tool's name, description and input schema, with
 * the hash a human's approval pins (SHA-256 of the canonical JSON of the
 * three). A tool whose hash differs from its pin is withheld.
 *
 * @module
 */
import { z } from "zod";
import { canonicalJson } from "../../contract/json.ts";

/** One tool as the server offers it, with its hash. */
export const OfferedTool = z.object({
  name: z.string(),
  description: z.string(),
  inputSchema: z.record(z.string(), z.unknown()),
  hash: z.string(),
});
export type OfferedTool = z.infer<typeof OfferedTool>;

/** A tool as the SDK lists it. */
export interface ListedTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

/** The hash an approval pins: name, description and schema together. */
export async function toolHash(tool: ListedTool): Promise<string> {
  const text = canonicalJson({
    name: tool.name,
    description: tool.description ?? "",
    inputSchema: tool.inputSchema,
  });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The listed tools with their hashes, by name. */
export async function offered(tools: readonly ListedTool[]): Promise<OfferedTool[]> {
  const out = await Promise.all(tools.map(async (t) => ({
    name: t.name,
    description: t.description ?? "",
    inputSchema: t.inputSchema,
    hash: await toolHash(t),
  })));
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
