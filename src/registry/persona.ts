/**
 * Persona composition: the three persona documents rendered, in a fixed
 * order, into the text a sandbox appends to its system prompt.
 *
 * @module
 */
import { MAX_PERSONA_SECTION_BYTES, type PersonaDocs } from "../../contract/changes.ts";

const SECTIONS = [
  ["identity", "Identity"],
  ["soul", "Soul"],
  ["instructions", "Instructions"],
] as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Renders `docs` as `### Identity`, `### Soul` and `### Instructions`
 * sections, in that order, a blank line apart. Blank documents are skipped;
 * each body is trimmed and cut to {@link MAX_PERSONA_SECTION_BYTES} bytes on a
 * character boundary. Returns "" when every document is blank.
 */
export function composePersona(docs: PersonaDocs): string {
  const sections: string[] = [];
  for (const [key, title] of SECTIONS) {
    const body = truncateUtf8(docs[key]?.trim() ?? "", MAX_PERSONA_SECTION_BYTES).trimEnd();
    if (body !== "") sections.push(`### ${title}\n${body}`);
  }
  return sections.join("\n\n");
}

/** The longest prefix of `text` whose UTF-8 encoding fits in `maxBytes`, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = encoder.encode(text);
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the character that did not fit.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return decoder.decode(bytes.subarray(0, end));
}
