/**
 * Small builders for route definitions, so each route states only its
 * method, path, inputs and answers.
 *
 * @module
 */
import type { z } from "@hono/zod-openapi";
import { ErrorBody } from "./schemas.ts";

/** A JSON answer described by `schema`. */
export function jsonAnswer<S extends z.ZodType>(schema: S, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** A required JSON request body described by `schema`. */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return { required: true, content: { "application/json": { schema } } };
}

const ERROR_DESCRIPTIONS = {
  400: "invalid input (the message names the field)",
  401: "missing or wrong bearer token",
  404: "unknown id in the path",
  409: "conflicts with the stored state",
  413: "request body over the size cap",
  415: "the body is not JSON",
  429: "over the per-client rate limit (see Retry-After)",
  502: "an upstream (an MCP server) could not be reached or failed",
  503: "not ready",
} as const;

type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/** `{"error"}` answers for `statuses`, plus the ones every authenticated route can give. */
export function errorAnswers<const S extends readonly ErrorStatus[]>(...statuses: S) {
  const all = [...new Set<ErrorStatus>([...statuses, 401, 429, 503])];
  return Object.fromEntries(all.map((s) => [s, jsonAnswer(ErrorBody, ERROR_DESCRIPTIONS[s])])) as {
    [K in S[number] | 401 | 429 | 503]: ReturnType<typeof jsonAnswer<typeof ErrorBody>>;
  };
}
