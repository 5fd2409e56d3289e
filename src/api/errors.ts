/**
 * The API's error answers: always `{"error": "<one line>"}`, never a stack
 * trace. Typed failures of the state layer map to 400/404/409, a session's
 * damaged queue file to 503 (naming the session and the file), a session at
 * its inbound backlog cap to 429 with `Retry-After` (naming the session and
 * its backlog); anything unexpected is logged and answered
 * `500 {"error":"internal error"}`.
 *
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { logger } from "../log/mod.ts";
import { ConflictError, InvalidInputError, NotFoundError } from "../state/mod.ts";
import { QueueDamagedError, SessionBacklogFullError } from "../session/mod.ts";
import { SqliteError } from "../../contract/sqlite/mod.ts";

/** A failure with the status and message the client should see. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly headers?: Record<string, string>,
  ) {
    super(oneLine(message));
  }
}

/**
 * Collapses whitespace (NEL too) so an answer is always a single line, and
 * shows any other control character as a `\uXXXX` escape: error messages
 * echo client input (an unknown key, an id), and a client prints them.
 */
export function oneLine(text: string): string {
  return text
    .replace(/[\s\x85]+/g, " ")
    .replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    .trim();
}

/** `{"error": message}` with `status`. */
export function fail(
  c: Context,
  status: ContentfulStatusCode,
  message: string,
  headers?: Record<string, string>,
): Response {
  return c.json({ error: oneLine(message) }, status, headers);
}

/** The first issue of a zod failure as `field.path: message` (unknown keys are named as the field). */
export function describeIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): string {
  const issue = error.issues[0];
  const path = [...prefix, ...issue.path];
  if (issue.code === "unrecognized_keys") {
    return oneLine(`${[...path, issue.keys[0]].map(String).join(".")}: unknown field`);
  }
  return oneLine(`${path.length ? path.map(String).join(".") : "body"}: ${issue.message}`);
}

/** Which body field an unknown referenced entity was named by. */
const REFERENCE_FIELDS: Record<string, string> = {
  "agent group": "agentGroupId",
  "messaging group": "messagingGroupId",
  "wiring": "id",
  "user": "userId",
  "session": "id",
};

/**
 * Runs `fn`, turning "not found" into a 400 naming the body or query field:
 * an unknown id there is bad input, not a missing resource (that is 404,
 * for ids in the path only).
 */
export function referencing<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof NotFoundError) {
      throw new ApiError(400, `${REFERENCE_FIELDS[err.entity] ?? err.entity}: ${err.message}`);
    }
    throw err;
  }
}

const HTTP_MESSAGES: Partial<Record<number, string>> = {
  400: "malformed JSON in request body",
  415: "content-type must be application/json",
};

/** Hono's `onError`: known failures to their status, the rest to a logged 500. */
export function handleError(err: Error, c: Context): Response {
  if (err instanceof ApiError) return fail(c, err.status, err.message, err.headers);
  if (err instanceof NotFoundError) return fail(c, 404, err.message);
  if (err instanceof ConflictError) return fail(c, 409, err.message);
  if (err instanceof InvalidInputError) return fail(c, 400, err.message);
  if (err instanceof QueueDamagedError) {
    logger("api").error("{method} {path}: {error}", {
      method: c.req.method,
      path: c.req.path,
      error: err.message,
    });
    return fail(
      c,
      503,
      `${err.message}; the session is parked until an operator repairs or removes the file`,
    );
  }
  if (err instanceof SessionBacklogFullError) {
    // Back-pressure, not a fault: not logged per request (the gate logs once when the session starts shedding).
    return fail(c, 429, err.message, { "Retry-After": String(err.retryAfterSeconds) });
  }
  if (err instanceof z.ZodError) return fail(c, 400, describeIssues(err));
  if (isOutOfSpace(err)) {
    logger("api").error("{method} {path}: the state directory is out of space: {error}", {
      method: c.req.method,
      path: c.req.path,
      error: err.message,
    });
    return fail(c, 507, "the state directory is out of space: free space on its filesystem and retry");
  }
  if (err instanceof HTTPException) {
    return fail(c, err.status as ContentfulStatusCode, HTTP_MESSAGES[err.status] ?? err.message);
  }
  logger("api").error("{method} {path} failed: {error}", {
    method: c.req.method,
    path: c.req.path,
    error: err.message,
    stack: err.stack,
  });
  return fail(c, 500, "internal error");
}

/** A write failed for want of disk space (SQLite's FULL, or ENOSPC anywhere in the cause chain). */
export function isOutOfSpace(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof SqliteError && e.kind === "disk_full") return true;
    if ((e as { code?: string }).code === "ENOSPC" || /No space left on device/.test(e.message)) return true;
  }
  return false;
}
