/**
 * Typed failures of the host's durable state. Each is one line naming what
 * went wrong, so the HTTP API can map them to statuses (404, 400, 409) and
 * logs stay readable.
 *
 * @module
 */
import type { z } from "zod";

/** An id that names nothing stored. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
  constructor(readonly entity: string, readonly id: string) {
    super(`${entity} ${JSON.stringify(id)} not found`);
  }
}

/** Input that failed validation; nothing was written. */
export class InvalidInputError extends Error {
  override name = "InvalidInputError";
}

/** A write that the stored state forbids (a decided change re-decided, a scoped owner). */
export class ConflictError extends Error {
  override name = "ConflictError";
}

/** A state database this build cannot safely use (newer schema, diverging migrations). */
export class StateSchemaError extends Error {
  override name = "StateSchemaError";
  constructor(readonly path: string, detail: string) {
    super(`${path}: ${detail}`);
  }
}

/** Parses `value` with `schema`, or throws an {@link InvalidInputError} listing every issue on one line. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) =>
    (i.path.length > 0 ? `${i.path.join(".")}: ` : "") + i.message
  );
  throw new InvalidInputError(`invalid ${what}: ${issues.join("; ").replace(/\s+/g, " ")}`);
}
