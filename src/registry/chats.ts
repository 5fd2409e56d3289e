/**
 * The registry's chats and what is wired to them: messaging groups (one per
 * chat of a channel), wirings (which agent answers in which chat, and when)
 * and destinations (the chats an agent may send to).
 *
 * @module
 */
import { newMessagingGroupId, newWiringId, UnknownSenderPolicy } from "../../contract/mod.ts";
import { NotFoundError, validate } from "../state/mod.ts";
import { asJson, type RegistryBase } from "./core.ts";
import { decodeDestination, decodeMessagingGroup, decodeWiring } from "./rows.ts";
import {
  Destination,
  type DestinationInput,
  type MessagingGroup,
  MessagingGroupInput,
  type Wiring,
  WiringInput,
} from "./schemas.ts";

/** Identifies one destination of an agent. */
export type DestinationKey = Pick<DestinationInput, "agentGroupId" | "channelType" | "platformId">;

const WIRING_ORDER = "ORDER BY priority DESC, id";

/** Adds the chat, wiring and destination tables to a registry base. */
export function chatTables<B extends RegistryBase>(Base: B) {
  abstract class ChatTables extends Base {
    /**
     * The messaging group of (channel type, platform id, instance), created when missing; an existing one is
     * returned unchanged (and only a creation is reported as a write).
     */
    getOrCreateMessagingGroup(input: MessagingGroupInput): MessagingGroup {
      const m = validate(MessagingGroupInput, input, "messaging group");
      const instance = m.instance ?? m.channelType;
      const find = () =>
        this.db.get(
          "SELECT * FROM messaging_groups WHERE channel_type = ? AND platform_id = ? AND instance = ?",
          [m.channelType, m.platformId, instance],
        );
      const existing = find();
      if (existing) return decodeMessagingGroup(existing);
      const subject = `chat ${m.channelType}:${m.platformId}${
        instance === m.channelType ? "" : ` (${instance})`
      }`;
      return this.write({
        action: "create-messaging-group",
        subject,
        read: () => asJson(find(), decodeMessagingGroup),
      }, () => {
        this.db.run(
          `INSERT INTO messaging_groups (id, channel_type, platform_id, instance, is_group, unknown_sender_policy)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel_type, platform_id, instance) DO NOTHING`,
          [newMessagingGroupId(), m.channelType, m.platformId, instance, m.isGroup, m.unknownSenderPolicy],
        );
        return decodeMessagingGroup(find()!);
      });
    }

    /** The messaging group `id`. */
    getMessagingGroup(id: string): MessagingGroup {
      const row = this.db.get("SELECT * FROM messaging_groups WHERE id = ?", [id]);
      if (!row) throw new NotFoundError("messaging group", id);
      return decodeMessagingGroup(row);
    }

    /** Every messaging group, by channel type, platform id and instance. */
    listMessagingGroups(): MessagingGroup[] {
      return this.db.all("SELECT * FROM messaging_groups ORDER BY channel_type, platform_id, instance")
        .map(decodeMessagingGroup);
    }

    /** Sets how the chat treats senders with no role or membership. */
    setUnknownSenderPolicy(id: string, policy: UnknownSenderPolicy): MessagingGroup {
      const p = validate(UnknownSenderPolicy, policy, "unknown-sender policy");
      const read = () =>
        asJson(this.db.get("SELECT * FROM messaging_groups WHERE id = ?", [id]), decodeMessagingGroup);
      return this.write(
        { action: "set-unknown-sender-policy", subject: `messaging group ${id}`, read },
        () => {
          if (
            this.db.run("UPDATE messaging_groups SET unknown_sender_policy = ? WHERE id = ?", [p, id]) === 0
          ) {
            throw new NotFoundError("messaging group", id);
          }
          return this.getMessagingGroup(id);
        },
      );
    }

    /** Creates a wiring (id generated when omitted) or replaces the one with the same id. */
    putWiring(input: WiringInput): Wiring {
      const w = validate(WiringInput, input, "wiring");
      const id = w.id ?? newWiringId();
      const write = { action: "put-wiring", ...this.#wiringWrite(id), agentGroupId: w.agentGroupId } as const;
      return this.write(write, () => {
        this.requireAgentGroup(w.agentGroupId);
        this.requireMessagingGroup(w.messagingGroupId);
        this.db.run(
          `INSERT INTO wirings (id, messaging_group_id, agent_group_id, engage_mode, engage_pattern, sender_scope,
             ignored_message_policy, session_mode, priority)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET messaging_group_id = excluded.messaging_group_id,
             agent_group_id = excluded.agent_group_id, engage_mode = excluded.engage_mode,
             engage_pattern = excluded.engage_pattern, sender_scope = excluded.sender_scope,
             ignored_message_policy = excluded.ignored_message_policy, session_mode = excluded.session_mode,
             priority = excluded.priority`,
          [
            id,
            w.messagingGroupId,
            w.agentGroupId,
            w.engageMode,
            w.engagePattern,
            w.senderScope,
            w.ignoredMessagePolicy,
            w.sessionMode,
            w.priority,
          ],
        );
        return this.getWiring(id);
      });
    }

    /** The wiring `id`. */
    getWiring(id: string): Wiring {
      const row = this.db.get("SELECT * FROM wirings WHERE id = ?", [id]);
      if (!row) throw new NotFoundError("wiring", id);
      return decodeWiring(row);
    }

    /** Every wiring, highest priority first, ties by id. */
    listWirings(): Wiring[] {
      return this.db.all(`SELECT * FROM wirings ${WIRING_ORDER}`).map(decodeWiring);
    }

    /** The wirings of one messaging group, in routing order (highest priority first, ties by id). */
    listWiringsForMessagingGroup(messagingGroupId: string): Wiring[] {
      this.requireMessagingGroup(messagingGroupId);
      return this.db.all(`SELECT * FROM wirings WHERE messaging_group_id = ? ${WIRING_ORDER}`, [
        messagingGroupId,
      ])
        .map(decodeWiring);
    }

    /** Deletes the wiring `id`. */
    deleteWiring(id: string): void {
      const row = this.db.get("SELECT agent_group_id FROM wirings WHERE id = ?", [id]);
      const agentGroupId = row ? String(row.agent_group_id) : null;
      const write = { action: "delete-wiring", ...this.#wiringWrite(id), agentGroupId } as const;
      this.write(write, () => {
        if (this.db.run("DELETE FROM wirings WHERE id = ?", [id]) === 0) {
          throw new NotFoundError("wiring", id);
        }
      });
    }

    /** Permits an agent to send to a channel target (idempotent; updates the display name). */
    addDestination(destination: DestinationInput): Destination {
      const d = validate(Destination, destination, "destination");
      this.write({ action: "add-destination", ...this.#destinationWrite(d) }, () => {
        this.requireAgentGroup(d.agentGroupId);
        this.db.run(
          `INSERT INTO destinations (agent_group_id, channel_type, platform_id, display_name) VALUES (?, ?, ?, ?)
           ON CONFLICT DO UPDATE SET display_name = excluded.display_name`,
          [d.agentGroupId, d.channelType, d.platformId, d.displayName],
        );
      });
      return d;
    }

    /** Withdraws a destination (idempotent). */
    removeDestination(key: DestinationKey): void {
      this.write({ action: "remove-destination", ...this.#destinationWrite(key) }, () => {
        this.requireAgentGroup(key.agentGroupId);
        this.db.run(
          "DELETE FROM destinations WHERE agent_group_id = ? AND channel_type = ? AND platform_id = ?",
          [key.agentGroupId, key.channelType, key.platformId],
        );
      });
    }

    /** True when the agent may send to this channel target. */
    checkDestination(key: DestinationKey): boolean {
      return this.#findDestination(key) !== undefined;
    }

    /** An agent's destinations, by channel type and platform id. */
    listDestinations(agentGroupId: string): Destination[] {
      this.requireAgentGroup(agentGroupId);
      return this.db.all(
        "SELECT * FROM destinations WHERE agent_group_id = ? ORDER BY channel_type, platform_id",
        [agentGroupId],
      ).map(decodeDestination);
    }

    #findDestination(key: DestinationKey) {
      return this.db.get(
        "SELECT * FROM destinations WHERE agent_group_id = ? AND channel_type = ? AND platform_id = ?",
        [key.agentGroupId, key.channelType, key.platformId],
      );
    }

    #wiringWrite(id: string) {
      return {
        subject: `wiring ${id}`,
        read: () => asJson(this.db.get("SELECT * FROM wirings WHERE id = ?", [id]), decodeWiring),
      };
    }

    #destinationWrite(key: DestinationKey) {
      return {
        subject: `destination ${key.channelType}:${key.platformId} of ${key.agentGroupId}`,
        agentGroupId: key.agentGroupId,
        read: () => asJson(this.#findDestination(key), decodeDestination),
      };
    }
  }
  return ChatTables;
}
