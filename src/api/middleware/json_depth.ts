/**
 * Refuses JSON bodies nested deeper than a bound before anything parses or
 * walks them recursively (a 256 KiB body can nest 100k levels). The scan is
 * linear and skips string contents.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { ApiEnv } from "../env.ts";
import { fail } from "../errors.ts";
import { bufferedBody } from "./body_limit.ts";

/** The deepest nesting any API body needs, with room to spare. */
export const MAX_JSON_DEPTH = 32;

const OPEN_OBJECT = 0x7b, OPEN_ARRAY = 0x5b, CLOSE_OBJECT = 0x7d, CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22, BACKSLASH = 0x5c;

/** The deepest nesting of `[`/`{` in `bytes`, outside strings (malformed JSON is left to the parser). */
export function jsonDepth(bytes: Uint8Array): number {
  let depth = 0, deepest = 0, inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_OBJECT || b === OPEN_ARRAY) deepest = Math.max(deepest, ++depth);
    else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) depth--;
  }
  return deepest;
}

/** 400 for a body nested deeper than `maxDepth`. Runs after the body cap, so the body is buffered. */
export function maxJsonDepth(maxDepth = MAX_JSON_DEPTH): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (c.req.raw.body === null) return await next();
    const bytes = bufferedBody(c.req.raw) ?? new Uint8Array(await c.req.raw.clone().arrayBuffer());
    if (jsonDepth(bytes) > maxDepth) return fail(c, 400, `body: JSON nested deeper than ${maxDepth} levels`);
    await next();
  };
}
