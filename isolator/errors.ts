/**
 * Isolator errors: one line each, naming the session or backend.
 *
 * @module
 */

/** A launch was refused or failed before the sandbox ran. */
export class LaunchError extends Error {
  override name = "LaunchError";
  constructor(readonly sessionId: string, detail: string) {
    super(`cannot launch session ${JSON.stringify(sessionId)}: ${detail}`);
  }
}

/** An explicitly requested backend does not work here. */
export class IsolatorUnavailableError extends Error {
  override name = "IsolatorUnavailableError";
  constructor(readonly kind: string, detail: string) {
    super(`isolator ${kind} is unavailable: ${detail}`);
  }
}
