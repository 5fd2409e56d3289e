/**
 * The error a tool throws for the model to read (its own file, so the jail
 * can throw it without importing the tool definitions that use the jail).
 *
 * @module
 */

/** A failure the model should read and can act on (bad path, unknown destination, …). */
export class ToolError extends Error {
  override name = "ToolError";
}
