/**
 * The control-character rule for change payloads, one rule for every way a
 * change arrives (the API's bodies and a sandbox's system actions): no C0
 * control other than tab, newline and carriage return, no DEL, no C1 control,
 * in any string or key. A persona or a package name with an ESC in it would
 * reach an operator's terminal and the audit log.
 *
 * @module
 */

/** C0 controls other than tab, LF and CR; DEL; C1 controls. */
const CONTROL = /(?![\t\n\r])\p{Cc}/u;

/**
 * The path of the first string (or key) in `value` that holds a control
 * character, or undefined when there is none.
 *
 * @example
 * ```ts
 * controlCharacterPath({ soul: ["calm", "\x1b[2J"] }); // ["soul", 1]
 * ```
 */
export function controlCharacterPath(value: unknown, path: PropertyKey[] = []): PropertyKey[] | undefined {
  if (typeof value === "string") return CONTROL.test(value) ? path : undefined;
  if (value === null || typeof value !== "object") return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (CONTROL.test(key)) return [...path, key];
    const found = controlCharacterPath(item, [...path, Array.isArray(value) ? Number(key) : key]);
    if (found) return found;
  }
  return undefined;
}
