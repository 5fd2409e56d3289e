/**
 * Agent-to-agent sends: an outbound row to channel `agent` goes to the
 * target agent group's sessions, within the hop limit, the sending group's
 * rate ({@link A2aLimits}) and each target session's backlog cap, and wakes
 * the sessions it reached.
 *
 * @module
 */
import type { MessageOut } from "../../contract/mod.ts";
import type { NewMessageIn } from "../../contract/rows.ts";
import { stableId, writeOnce } from "../idempotent/mod.ts";
import { logger } from "../log/mod.ts";
import type { Registry, Session } from "../registry/mod.ts";
import {
  AGENT_CHANNEL,
  type BacklogGate,
  SessionBacklogFullError,
  type SessionQueues,
  type SessionWaker,
} from "../session/mod.ts";
import { type A2aLimitOptions, A2aLimits } from "./a2a_limits.ts";
import { type Handled, Refused, tellAgent } from "./outcome.ts";

/** What agent-to-agent sends are built from. */
export interface AgentSendsDeps {
  registry: Registry;
  queues: SessionQueues;
  waker: SessionWaker;
  /** The per-session backlog cap the sends respect. */
  backlog: BacklogGate;
  a2a?: A2aLimitOptions;
}

/** Carries agents' messages to other agent groups. */
export class AgentSends {
  #d: AgentSendsDeps;
  #limits: A2aLimits;
  #log = logger("delivery");

  constructor(deps: AgentSendsDeps) {
    this.#d = deps;
    this.#limits = new A2aLimits(deps.a2a);
  }

  /**
   * Sends `message` of `session` to the sessions of agent group `to` (opening
   * their conversation with the sender's group when there is none), within
   * the hop limit and the group's rate; each target at its backlog cap is
   * skipped, and the sender told. Refused when no target took it.
   */
  async send(session: Session, row: { message: MessageOut; to: string }): Promise<Handled> {
    const { registry } = this.#d;
    const { message, to: target } = row;
    if (!registry.hasAgentGroup(target)) throw new Refused(`no agent group ${target}`);
    const verdict = this.#limits.admit(session.id, session.agentGroupId);
    if (!verdict.ok) {
      this.#log.warn("agent message {messageId} from session {sessionId} dropped: {reason}", {
        messageId: message.id,
        sessionId: session.id,
        reason: verdict.reason,
      });
      return { outcome: "dropped", detail: verdict.reason };
    }
    let targets = registry.listSessions(target);
    if (targets.length === 0) {
      // No conversation yet: open the one this agent group has with the sender's group.
      const chat = registry.getOrCreateMessagingGroup({
        channelType: AGENT_CHANNEL,
        platformId: session.agentGroupId,
        instance: AGENT_CHANNEL,
      });
      targets = [registry.resolveSession(target, chat.id, null, "shared")];
    }
    const reached: Session[] = [];
    const full: SessionBacklogFullError[] = [];
    for (const t of targets) {
      const id = await stableId("a2a", message.id, t.id);
      const row = {
        id,
        kind: "chat",
        trigger: 1,
        channelType: AGENT_CHANNEL,
        platformId: session.agentGroupId,
        content: message.content,
        sourceSessionId: session.id,
      } satisfies NewMessageIn;
      try {
        await this.#d.backlog.write(
          t.id,
          { engaging: true, channel: AGENT_CHANNEL, id },
          (w) => writeOnce(w, row),
        );
      } catch (err) {
        if (!(err instanceof SessionBacklogFullError)) throw err;
        full.push(err);
        continue;
      }
      this.#limits.reached(t.id, verdict.hop);
      reached.push(t);
    }
    if (full.length > 0) {
      const more = full.length > 1 ? ` (and ${full.length - 1} more of its sessions)` : "";
      const why = `agent ${target} is not taking messages now: ${full[0].message}${more}`;
      if (reached.length === 0) throw new Refused(why);
      await tellAgent(this.#d.queues, {
        sessionId: session.id,
        messageId: message.id,
        content: `The host delivered your message to ${reached.length} of ${targets.length} sessions: ${why}`,
      });
    }
    for (const t of reached) {
      try {
        await this.#d.waker.wake(t.id);
      } catch (err) {
        this.#log.warn("agent message queued but session {sessionId} did not wake: {error}", {
          sessionId: t.id,
          error: String(err),
        });
      }
    }
    const skipped = full.length > 0 ? `, ${full.length} at their backlog cap` : "";
    return { outcome: "a2a", detail: `${reached.length} session(s) of ${target}${skipped}` };
  }
}
