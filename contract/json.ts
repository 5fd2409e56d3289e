/**
 * Canonical JSON: object keys sorted (by UTF-16 code unit), no insignificant
 * whitespace. Change payloads are stored and compared in this form so two
 * equal values always have the same bytes.
 *
 * @module
 */

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Renders `value` canonically. Throws on values JSON cannot carry (functions, NaN, cycles). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value, new Set()));
}

function sortKeys(value: unknown, seen: Set<object>): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new TypeError("JSON cannot carry NaN or Infinity");
  }
  if (typeof value === "bigint" || typeof value === "function" || typeof value === "symbol") {
    throw new TypeError(`JSON cannot carry a ${typeof value}`);
  }
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) throw new TypeError("JSON cannot carry a cycle");
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => sortKeys(v, seen));
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/** Parses and re-renders canonically: equal JSON documents yield equal strings. */
export function canonicalize(text: string): string {
  return canonicalJson(JSON.parse(text));
}
