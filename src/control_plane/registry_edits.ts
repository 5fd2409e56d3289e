/**
 * What a registry write sets off besides itself. Every configuration write
 * (`Registry.onWrite`: an operator's edit through the API, a change the
 * gateway applies, a chat a channel opens) gets one line in the audit log's
 * hash chain: who, what, before → after. An edit made outside the gateway
 * that changes what a sandbox runs with restarts its group's sandboxes, as
 * an applied change does (the gateway's `onApplied` restarts those, once
 * per change): a launch-spec field of the agent group (persona, tools,
 * packages, mounts, MCP grants, provider, model, memory partition), a
 * destination (the session queues' copy is refreshed first), or a membership
 * that moves a group's default memory partition.
 *
 * A write stays in the registry's audit outbox until its line is written, so
 * a crash in between loses nothing: at construction (before this process
 * writes) the writes left there are audited first, marked as recovered (a
 * crash after the line but before the outbox row went can repeat a line,
 * never drop one). They restart nothing: no sandbox outlived the crash.
 *
 * @module
 */
import type { AgentGroupId, ChangeId } from "../../contract/ids.ts";
import { canonicalJson, type JsonValue } from "../../contract/json.ts";
import type { AuditInput } from "../audit/mod.ts";
import { changeOfActor } from "../gateway/mod.ts";
import { logger } from "../log/mod.ts";
import type { Registry, RegistryAction, RegistryWrite } from "../registry/mod.ts";

/** What the follow-ups need. */
export interface RegistryEditDeps {
  /** The audit log (its appends are serialised, so the chain never forks). */
  audit: { append(entry: AuditInput): Promise<unknown> };
  /** Restarts a group's running sandboxes. */
  respawnGroup(agentGroupId: AgentGroupId): Promise<number>;
  /** Refreshes the destinations the group's session queues hold. */
  refreshDestinations(agentGroupId: AgentGroupId): Promise<void>;
}

/** Agent-group writes that can change what its sandboxes launch with. */
const LAUNCH_ACTIONS: ReadonlySet<RegistryAction> = new Set([
  "put-agent-group",
  "set-persona",
  "set-enabled-tools",
  "set-packages",
  "set-mounts",
  "set-mcp-grant",
  "set-memory-partition",
]);

const DESTINATION_ACTIONS: ReadonlySet<RegistryAction> = new Set(["add-destination", "remove-destination"]);

/** The audit line of one registry write. */
export function registryAuditLine(write: RegistryWrite, options: { recovered?: boolean } = {}): AuditInput {
  return {
    stage: "registry",
    // A change's writes carry its id; an edit outside the gateway gets an id of its own.
    changeId: changeOfActor(write.by) ?? newWriteId(),
    detail: `${write.by} ${write.action} ${write.subject}: ${canonicalJson(write.before)} → ${
      canonicalJson(write.after)
    }${options.recovered ? " (recovered after a restart)" : ""}`,
  };
}

/** Follows a registry's writes with their audit lines and restarts (see the module doc). */
export class RegistryEdits {
  #deps: RegistryEditDeps;
  #pending = new Set<Promise<void>>();
  #log = logger("registry");

  #registry: Registry;

  constructor(registry: Registry, deps: RegistryEditDeps) {
    this.#deps = deps;
    this.#registry = registry;
    // Read before listening: what is in the outbox now was left by an earlier run.
    const left = registry.unaudited();
    registry.onWrite((write) => this.#follow(write));
    if (left.length > 0) this.#track(this.#recover(left), "recovering the audit lines of earlier writes");
  }

  /** Resolves once every write so far has its audit line (and restart); the API waits for it before answering. */
  async settled(): Promise<void> {
    while (this.#pending.size) await Promise.all(this.#pending);
  }

  #follow(write: RegistryWrite): void {
    this.#track(
      this.#handle(write),
      `registry write ${write.action} ${write.subject} by ${write.by}: its follow-up`,
    );
  }

  #track(work: Promise<void>, what: string): void {
    const done: Promise<void> = work
      .catch((err) => this.#log.error("{what} failed: {error}", { what, error: String(err) }))
      .finally(() => this.#pending.delete(done));
    this.#pending.add(done);
  }

  async #recover(writes: readonly RegistryWrite[]): Promise<void> {
    for (const write of writes) {
      await this.#deps.audit.append(registryAuditLine(write, { recovered: true }));
      this.#registry.markAudited(write.seq);
    }
    this.#log.warn("{count} registry write(s) committed before a crash got their audit lines now", {
      count: writes.length,
    });
  }

  async #handle(write: RegistryWrite): Promise<void> {
    await this.#deps.audit.append(registryAuditLine(write));
    this.#registry.markAudited(write.seq);
    const group = write.agentGroupId;
    if (group === null || changeOfActor(write.by) !== undefined) return;
    if (DESTINATION_ACTIONS.has(write.action) && !sameJson(write.before, write.after)) {
      await this.#deps.refreshDestinations(group);
      await this.#deps.respawnGroup(group);
    } else if (LAUNCH_ACTIONS.has(write.action) && launchChanged(write)) {
      await this.#deps.respawnGroup(group);
    } else if (MEMBER_ACTIONS.has(write.action) && !sameJson(write.before, write.after)) {
      if (this.#defaultPartitionFlipped(group, write.before === null)) await this.#deps.respawnGroup(group);
    }
  }

  /**
   * Whether a membership write just moved a group without a chosen memory
   * partition across the default rule's line (one member ↔ two): its
   * sandboxes must come back with the other partition's `/memory`.
   */
  #defaultPartitionFlipped(group: AgentGroupId, added: boolean): boolean {
    if (!this.#registry.hasAgentGroup(group) || this.#registry.getAgentGroup(group).memoryPartitionChosen) {
      return false;
    }
    return this.#registry.listMembers(group).length === (added ? 2 : 1);
  }
}

const MEMBER_ACTIONS: ReadonlySet<RegistryAction> = new Set(["add-member", "remove-member"]);

/** Whether an agent group's write changed what its existing sandboxes launch with. */
function launchChanged(write: RegistryWrite): boolean {
  if (write.before === null || write.after === null) return false;
  return !sameJson(launchPart(write.before), launchPart(write.after));
}

/** What a sandbox is launched with, of an agent group record (its name, folder and timestamps are not). */
const LAUNCH_FIELDS = [
  "provider",
  "model",
  "personaDocs",
  "enabledTools",
  "packages",
  "mounts",
  "mcpGrants",
  "memoryPartition",
];

function launchPart(group: JsonValue): JsonValue {
  const record = group as Record<string, JsonValue>;
  return Object.fromEntries(LAUNCH_FIELDS.map((field) => [field, record[field] ?? null]));
}

function sameJson(a: JsonValue | null, b: JsonValue | null): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** An audit id of its own for a write made outside the gateway. */
export function newWriteId(): ChangeId {
  return `reg_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}` as ChangeId;
}
