/**
 * The channel adapter seam: how delivery hands a message to a chat platform,
 * and the set of adapters it picks from by channel type.
 *
 * @module
 */
import type { AgentGroupId, SessionId } from "../../contract/ids.ts";
import type { MessageKind } from "../../contract/enums.ts";
import type { Timestamp } from "../../contract/time.ts";

/** A message on its way to a channel, its target resolved and permitted. */
export interface ChannelMessage {
  /** The outbound row's id (stable across retries: adapters may use it to deduplicate). */
  id: string;
  sessionId: SessionId;
  agentGroupId: AgentGroupId;
  kind: MessageKind;
  channelType: string;
  platformId: string;
  threadId: string | null;
  inReplyTo: string | null;
  content: string;
  timestamp: Timestamp;
}

/** Where something goes on a channel: a chat, and a thread in it. */
export interface ChannelTarget {
  channelType: string;
  platformId: string;
  threadId: string | null;
  /** The message this one answers (an inbound row id), when the platform can thread on it. */
  inReplyTo?: string | null;
}

/** A file on its way to a chat. */
export interface ChannelFile {
  /** The file name the chat shows (no directories). */
  name: string;
  bytes: Uint8Array;
  caption?: string;
  mimeType?: string;
}

/**
 * One chat platform. Every adapter sends ({@link ChannelAdapter.deliver});
 * the optional parts are capabilities some platforms have: files, a typing
 * indicator, and a receiving side that runs between `start` and `stop`
 * (feeding the router).
 */
export interface ChannelAdapter {
  /** The channel type it serves (`slack`, `web`, …). */
  readonly name: string;
  /** Sends `message`; resolves to the platform's id for it, or null. A throw means "try again later". */
  deliver(message: ChannelMessage): Promise<string | null>;
  /**
   * True when `deliver` durably ignores a message id it already took, for at
   * least a day after the message was shown. Delivery then commits its
   * delivered marks lazily (`LAZY_MARK_MS`): a crash before a mark is
   * committed delivers the row again, and the channel ignores it.
   */
  readonly dedupsById?: boolean;
  /** Sends a file; resolves to the platform's id for it, or null. A throw means "try again later". */
  sendFile?(target: ChannelTarget, file: ChannelFile): Promise<string | null>;
  /** Shows that the agent is working in the target chat, until its next message or the platform's timeout. */
  setTyping?(target: ChannelTarget): Promise<void>;
  /** Starts receiving (polling, webhooks, sockets); resolves once it runs. */
  start?(): Promise<void>;
  /** Stops receiving and lets work in progress end. Idempotent. */
  stop?(): Promise<void>;
}

/** Adapters by channel type. */
export class ChannelAdapters {
  #byName = new Map<string, ChannelAdapter>();

  constructor(adapters: Iterable<ChannelAdapter> = []) {
    for (const adapter of adapters) this.add(adapter);
  }

  /** Registers an adapter; an empty or taken name is refused. */
  add(adapter: ChannelAdapter): void {
    if (adapter.name.trim() === "") throw new Error("a channel adapter needs a name");
    if (this.#byName.has(adapter.name)) {
      throw new Error(`a channel adapter named ${adapter.name} is already registered`);
    }
    this.#byName.set(adapter.name, adapter);
  }

  /** The adapter of `channelType`, if any. */
  get(channelType: string): ChannelAdapter | undefined {
    return this.#byName.get(channelType);
  }

  /** Registered channel types, sorted. */
  names(): string[] {
    return [...this.#byName.keys()].sort();
  }

  /** Starts every adapter that has a receiving side, in name order; one failing stops the ones started. */
  async startAll(): Promise<void> {
    const started: ChannelAdapter[] = [];
    for (const name of this.names()) {
      const adapter = this.#byName.get(name)!;
      if (!adapter.start) continue;
      try {
        await adapter.start();
        started.push(adapter);
      } catch (err) {
        for (const a of started.reverse()) await a.stop?.();
        throw err;
      }
    }
  }

  /** Stops every adapter that has a receiving side (all are tried; the first failure is rethrown). */
  async stopAll(): Promise<void> {
    const failures: unknown[] = [];
    for (const name of this.names().reverse()) {
      try {
        await this.#byName.get(name)!.stop?.();
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw failures[0];
  }
}
