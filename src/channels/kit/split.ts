/**
 * Long replies cut to a platform's message limit (counted in UTF-16 code
 * units like JavaScript strings), preferring a line break, then a space,
 * and never cutting a surrogate pair in half.
 *
 * @module
 */

/**
 * `text` in pieces of at most `limit` characters. A piece ends at the last
 * line break that keeps at least half the limit, else the last whitespace,
 * else at the limit; the break it ends at is dropped (one character), every
 * other character is kept in order. Pieces of only whitespace are left out,
 * since the platforms refuse empty messages.
 */
export function splitMessage(text: string, limit: number): string[] {
  if (!Number.isInteger(limit) || limit < 2) throw new RangeError("the split limit must be an integer ≥ 2");
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    const cut = cutPoint(rest, limit);
    pieces.push(rest.slice(0, cut.at));
    rest = rest.slice(cut.at + cut.skip);
  }
  pieces.push(rest);
  return pieces.filter((p) => p.trim() !== "");
}

/** Where to cut `text` (longer than `limit`), and whether one separator character is dropped there. */
function cutPoint(text: string, limit: number): { at: number; skip: 0 | 1 } {
  const newline = text.lastIndexOf("\n", limit);
  if (newline >= limit / 2) return { at: newline, skip: 1 };
  const space = lastWhitespace(text, limit);
  if (space > 0) return { at: space, skip: 1 };
  if (newline > 0) return { at: newline, skip: 1 };
  const high = text.charCodeAt(limit - 1);
  return { at: high >= 0xd800 && high <= 0xdbff ? limit - 1 : limit, skip: 0 };
}

/** The index of the last whitespace character at or before `limit`, or -1. */
function lastWhitespace(text: string, limit: number): number {
  for (let i = Math.min(limit, text.length - 1); i > 0; i--) {
    if (/\s/.test(text[i])) return i;
  }
  return -1;
}
