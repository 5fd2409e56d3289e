/**
 * Gateway events handled once each, in order, across dropped connections.
 *
 * Discord numbers a session's events (`s`). They are handled one at a time;
 * the session store the gateway library resumes from reports the last
 * event *handled* (not merely received), so after a dropped connection
 * Discord replays everything not yet handled, and an event replayed that is
 * already queued here (received, still waiting its turn) is skipped. Nothing
 * is lost and nothing is handled twice. A new session (IDENTIFY after an
 * invalid session) starts numbering again. An event that keeps failing is
 * retried a few times, then skipped with an error in the log, so one bad
 * event never stalls the bot.
 *
 * With `saved`, the session and the last event handled are kept across
 * host restarts (`session_store.ts`): a host back while Discord still holds
 * the session resumes it and is replayed what it missed. A stop keeps the
 * session (the gateway is closed with a resumable code); an invalid one is
 * forgotten.
 *
 * @module
 */
import type { SessionInfo } from "@discordjs/ws";
import type { logger } from "../../log/mod.ts";
import type { SessionStore } from "./client.ts";
import type { SavedSession } from "./session_store.ts";

/** Attempts at one event before it is skipped. */
export const MAX_EVENT_ATTEMPTS = 3;
/** The pause before a failed event's next attempt, times the attempts so far. */
const RETRY_PAUSE_MS = 500;

/** One dispatch as the gateway delivers it. */
export interface Dispatch {
  t: string;
  s: number;
  d: unknown;
}

/** Feeds dispatches to a handler once each, in order, and keeps the session the gateway resumes. */
export class GatewayIntake implements SessionStore {
  #handle: (event: Dispatch) => Promise<unknown>;
  #describe: (err: unknown) => string;
  #log: ReturnType<typeof logger>;
  #session: SessionInfo | null = null;
  /** The last event handled (or skipped for good) in the current session. */
  #handled = 0;
  /** The last event queued in the current session. */
  #queued = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #saved?: { load(): SavedSession | null; save(session: SavedSession | null): void };
  /** While stopping, the gateway's "no session" is not kept: the session stays resumable. */
  #stopping = false;

  constructor(options: {
    handle: (event: Dispatch) => Promise<unknown>;
    describe: (err: unknown) => string;
    log: ReturnType<typeof logger>;
    /** Where the session is kept across restarts; without it, in memory only. */
    saved?: { load(): SavedSession | null; save(session: SavedSession | null): void };
  }) {
    this.#handle = options.handle;
    this.#describe = options.describe;
    this.#log = options.log;
    this.#saved = options.saved;
    const kept = options.saved?.load();
    if (kept) {
      // One shard: the gateway resumes a session only when its shard count matches.
      this.#session = { ...kept, shardId: 0, shardCount: 1 };
      this.#handled = this.#queued = kept.sequence;
    }
  }

  /** The gateway is being closed on purpose (true) or connects again (false): while closing, the session is kept. */
  stopping(on: boolean): void {
    this.#stopping = on;
  }

  /** The session to resume: the last event handled, so Discord replays the rest. */
  retrieve(): SessionInfo | null {
    return this.#session && { ...this.#session, sequence: this.#handled };
  }

  /** The gateway's view of the session (a new one on READY, null once invalid). */
  update(info: SessionInfo | null): void {
    if (this.#stopping) return;
    if (info?.sessionId !== this.#session?.sessionId) {
      // A new session numbers from its READY: nothing of the old one is replayed.
      this.#handled = this.#queued = info?.sequence ?? 0;
      this.#session = info;
      this.#keep();
    }
    this.#session = info;
  }

  #keep(): void {
    const s = this.#session;
    this.#saved?.save(s && { sessionId: s.sessionId, resumeURL: s.resumeURL, sequence: this.#handled });
  }

  /** Queues `event` (unless already queued in this session); resolves once it is handled. */
  take(event: Dispatch): Promise<void> {
    if (event.s <= this.#queued) return Promise.resolve();
    this.#queued = event.s;
    const session = this.#session?.sessionId;
    const run = () => this.#attempt(event, session);
    const next = this.#chain.then(run, run);
    this.#chain = next.catch(() => {});
    return next;
  }

  /** Resolves once every queued event is handled. */
  async idle(): Promise<void> {
    let seen: Promise<unknown>;
    do {
      seen = this.#chain;
      await seen;
    } while (seen !== this.#chain);
  }

  async #attempt(event: Dispatch, session: string | undefined): Promise<void> {
    for (let attempt = 1;; attempt++) {
      try {
        await this.#handle(event);
        break;
      } catch (err) {
        if (attempt < MAX_EVENT_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS * attempt));
          continue;
        }
        this.#log.error("Discord {event} (sequence {s}) skipped after {attempts} failed attempts: {error}", {
          event: event.t,
          s: event.s,
          attempts: attempt,
          error: this.#describe(err),
        });
        break;
      }
    }
    // An event of a session since replaced says nothing about the new one's numbering.
    if (session === this.#session?.sessionId && event.s > this.#handled) {
      this.#handled = event.s;
      this.#keep();
    }
  }
}
