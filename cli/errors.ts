/**
 * How the CLI fails: one clear line on stderr and a non-zero exit, never a
 * stack trace.
 *
 * @module
 */

/** An error whose message is meant for the user as is. */
export class CliError extends Error {
  override name = "CliError";
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** One line describing any thrown value, without a stack. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split("\n")[0] || err.name;
  return String(err);
}
