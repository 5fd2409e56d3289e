/**
 * Who is signed in to the web console. Signing in takes the API token (or a
 * one-time link code minted with the token, see `ironclaw console`) and gives
 * back a random session id for an `HttpOnly; SameSite=Strict` cookie; the
 * token itself never reaches the browser's storage. Each session carries its
 * own CSRF token, which every form posts back.
 *
 * Sessions live in memory: a restart signs everyone out, which is the safe
 * direction for an admin surface.
 *
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { tokenDigest } from "../middleware/auth.ts";

/** How long a console session lasts after sign-in. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
/** How long a one-time link stays usable. */
export const LINK_TTL_MS = 5 * 60 * 1000;
/** At most this many sessions at once: the oldest goes first (a script signing in in a loop cannot grow memory). */
const MAX_SESSIONS = 64;
const MAX_LINKS = 64;

/** A signed-in browser. */
export interface ConsoleSession {
  /** Posted back by every form: a request from another site cannot know it. */
  readonly csrf: string;
  readonly expiresAt: number;
}

/** 32 random bytes as hex. */
function secret(): string {
  return randomBytes(32).toString("hex");
}

/** Equal strings, in time independent of where they differ. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(tokenDigest(a), tokenDigest(b));
}

/** The console's sessions and one-time links over one API token. */
export class ConsoleSessions {
  readonly #token: Uint8Array;
  readonly #now: () => number;
  /** By the SHA-256 of the cookie value: a memory dump does not hand out live cookies. */
  readonly #sessions = new Map<string, ConsoleSession>();
  readonly #links = new Map<string, number>();

  constructor(token: string, options: { now?: () => number } = {}) {
    this.#token = tokenDigest(token);
    this.#now = options.now ?? Date.now;
  }

  /** A one-time sign-in code, usable once within {@linkcode LINK_TTL_MS}. */
  issueLink(): { code: string; expiresAt: number } {
    this.#sweep();
    while (this.#links.size >= MAX_LINKS) this.#links.delete(this.#links.keys().next().value!);
    const code = secret();
    const expiresAt = this.#now() + LINK_TTL_MS;
    this.#links.set(digest(code), expiresAt);
    return { code, expiresAt };
  }

  /**
   * Signs in with the API token or a one-time code (spent even when it is
   * late). Returns the new session's cookie value, or undefined.
   */
  signIn(
    credentials: { token?: string; code?: string },
  ): { cookie: string; session: ConsoleSession } | undefined {
    this.#sweep();
    let valid = false;
    if (credentials.token) valid = timingSafeEqual(tokenDigest(credentials.token), this.#token);
    if (!valid && credentials.code) {
      const key = digest(credentials.code);
      const expiresAt = this.#links.get(key);
      this.#links.delete(key);
      valid = expiresAt !== undefined && expiresAt > this.#now();
    }
    if (!valid) return undefined;
    while (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    const cookie = secret();
    const session = { csrf: secret(), expiresAt: this.#now() + SESSION_TTL_MS };
    this.#sessions.set(digest(cookie), session);
    return { cookie, session };
  }

  /** The live session a cookie value names. */
  lookup(cookie: string | undefined): ConsoleSession | undefined {
    if (!cookie) return undefined;
    const session = this.#sessions.get(digest(cookie));
    if (session && session.expiresAt > this.#now()) return session;
    if (session) this.#sessions.delete(digest(cookie));
    return undefined;
  }

  /** Ends the session a cookie value names. */
  signOut(cookie: string | undefined): void {
    if (cookie) this.#sessions.delete(digest(cookie));
  }

  #sweep(): void {
    const now = this.#now();
    for (const [key, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(key);
    for (const [key, at] of this.#links) if (at <= now) this.#links.delete(key);
  }
}

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
