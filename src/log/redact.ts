/**
 * Secret redaction for structured logs: a property whose key, split into
 * words, names a secret (token, key, password, authorization, …) is replaced
 * wherever it appears, however deeply nested.
 *
 * @module
 */

const SECRET_WORDS = new Set([
  "key",
  "keys",
  "token",
  "tokens",
  "secret",
  "secrets",
  "password",
  "passwd",
  "credential",
  "credentials",
  "auth",
  "authorization",
  "bearer",
  "apikey",
  "privatekey",
  "seed",
  "otp",
  "pin",
  "cookie",
]);

/** The placeholder that replaces a secret value. */
export const REDACTED = "[REDACTED]";

/** True when a property name names a secret (`apiKey`, `x-api-key`, `bot_token`, `Authorization`, …). */
export function isSecretKey(name: string): boolean {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  if (words.some((w) => SECRET_WORDS.has(w))) return true;
  return SECRET_WORDS.has(words.join(""));
}

/** A copy of `value` with every secret-named property replaced. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: value.message };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) ? REDACTED : redact(v, depth + 1);
  return out;
}
