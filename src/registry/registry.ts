/**
 * The registry: agents, chats, routing rules, people and their grants,
 * permitted destinations and sessions, all read from and written to the
 * encrypted state database on every call (no in-memory source of truth, so
 * nothing is lost on restart).
 *
 * Getters and mutators throw `NotFoundError` for unknown ids and
 * `InvalidInputError` for bad input; predicates (`has…`, `check…`, `find…`)
 * answer false or undefined instead.
 *
 * @module
 */
import {
  newMessagingGroupId,
  newSessionId,
  newWiringId,
  nowTimestamp,
  PersonaDocs,
  SessionMode,
  type Timestamp,
  UnknownSenderPolicy,
  UserId,
} from "../../contract/mod.ts";
import type { Database, Row } from "../../contract/sqlite/mod.ts";
import { ConflictError, NotFoundError, validate } from "../state/errors.ts";
import type { StateDb } from "../state/state_db.ts";
import { partitionKey } from "./partition.ts";
import { composePersona } from "./persona.ts";
import {
  decodeAgentGroup,
  decodeDestination,
  decodeMessagingGroup,
  decodeSession,
  decodeUser,
  decodeWiring,
} from "./rows.ts";
import {
  type Access,
  type AgentGroup,
  AgentGroupInput,
  ContainerStatus,
  Destination,
  type DestinationInput,
  type LaunchSpec,
  McpGrantInput,
  type MessagingGroup,
  MessagingGroupInput,
  MountsInput,
  PackagesInput,
  RoleGrant,
  type Session,
  ThreadId,
  ToolList,
  type User,
  UserInput,
  type Wiring,
  WiringInput,
} from "./schemas.ts";

/** Identifies one destination of an agent. */
export type DestinationKey = Pick<DestinationInput, "agentGroupId" | "channelType" | "platformId">;

/** Registry construction options. */
export interface RegistryOptions {
  /** The clock behind `createdAt`, `updatedAt` and `lastActive` (tests pin it). */
  now?: () => Timestamp;
}

const WIRING_ORDER = "ORDER BY priority DESC, id";

/** The durable registry over a {@link StateDb}. */
export class Registry {
  #db: Database;
  #now: () => Timestamp;

  constructor(state: StateDb, options: RegistryOptions = {}) {
    this.#db = state.db;
    this.#now = options.now ?? nowTimestamp;
  }

  // ── Agent groups ────────────────────────────────────────────────────────

  /**
   * Creates or updates an agent group. On update, omitted fields keep their
   * stored values; `enabledTools: null` (or `[]`) allows every tool. Throws
   * `ConflictError` when another agent already uses the folder.
   */
  putAgentGroup(input: AgentGroupInput): AgentGroup {
    const g = validate(AgentGroupInput, input, "agent group");
    return this.#db.transaction(() => {
      const existing = this.#findAgentGroup(g.id);
      const folder = g.folder ?? existing?.folder ?? g.id;
      const owner = this.#db.get("SELECT id FROM agent_groups WHERE folder = ? AND id <> ?", [folder, g.id]);
      if (owner) {
        throw new ConflictError(`folder ${JSON.stringify(folder)} already belongs to agent ${owner.id}`);
      }
      const docs = g.personaDocs ?? existing?.personaDocs ?? {};
      const tools = g.enabledTools === undefined
        ? existing?.enabledTools ?? null
        : normalizeTools(g.enabledTools);
      const now = this.#now();
      this.#db.run(
        `INSERT INTO agent_groups (id, name, folder, provider, model, persona_identity, persona_soul,
           persona_instructions, enabled_tools, created_at, updated_at)
         VALUES (:id, :name, :folder, :provider, :model, :identity, :soul, :instructions, :tools, :now, :now)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, folder = excluded.folder,
           provider = excluded.provider, model = excluded.model, persona_identity = excluded.persona_identity,
           persona_soul = excluded.persona_soul, persona_instructions = excluded.persona_instructions,
           enabled_tools = excluded.enabled_tools, updated_at = excluded.updated_at`,
        {
          id: g.id,
          name: g.name,
          folder,
          provider: g.provider === undefined ? existing?.provider ?? null : g.provider,
          model: g.model === undefined ? existing?.model ?? null : g.model,
          identity: docs.identity ?? "",
          soul: docs.soul ?? "",
          instructions: docs.instructions ?? "",
          tools: tools === null ? null : JSON.stringify(tools),
          now,
        },
      );
      return this.getAgentGroup(g.id);
    });
  }

  /** The agent group `id`. */
  getAgentGroup(id: string): AgentGroup {
    const group = this.#findAgentGroup(id);
    if (!group) throw new NotFoundError("agent group", id);
    return group;
  }

  /** True when agent group `id` exists. */
  hasAgentGroup(id: string): boolean {
    return this.#findAgentGroup(id) !== undefined;
  }

  /** Every agent group, by id. */
  listAgentGroups(): AgentGroup[] {
    return this.#db.all("SELECT * FROM agent_groups ORDER BY id").map(decodeAgentGroup);
  }

  /**
   * Deletes an agent group with its wirings, memberships, scoped roles,
   * destinations and sessions. Returns the ids of the deleted sessions, whose
   * sandboxes, queues and keys the caller must tear down.
   */
  deleteAgentGroup(id: string): Session["id"][] {
    return this.#db.transaction(() => {
      this.#requireAgentGroup(id);
      const sessions = this.#db.all("SELECT id FROM sessions WHERE agent_group_id = ? ORDER BY id", [id])
        .map((r) => r.id as Session["id"]);
      this.#db.run("DELETE FROM roles WHERE scope = ?", [id]);
      this.#db.run("DELETE FROM agent_groups WHERE id = ?", [id]);
      return sessions;
    });
  }

  /** Sets the persona documents named in `docs` ("" clears one); the others are kept. */
  setPersonaDocs(id: string, docs: PersonaDocs): AgentGroup {
    const d = validate(PersonaDocs, docs, "persona documents");
    return this.#updateAgentGroup(
      id,
      `persona_identity = coalesce(:identity, persona_identity), persona_soul = coalesce(:soul, persona_soul),
       persona_instructions = coalesce(:instructions, persona_instructions)`,
      { identity: d.identity ?? null, soul: d.soul ?? null, instructions: d.instructions ?? null },
    );
  }

  /** Replaces the tool allowlist; `null` or `[]` allows every tool. Duplicates are dropped. */
  setEnabledTools(id: string, tools: readonly string[] | null): AgentGroup {
    const list = normalizeTools(validate(ToolList.nullable(), tools, "enabled tools"));
    return this.#updateAgentGroup(id, "enabled_tools = :tools", {
      tools: list === null ? null : JSON.stringify(list),
    });
  }

  /** Replaces the packages recorded for the agent's launch. */
  setPackages(id: string, packages: PackagesInput): AgentGroup {
    const p = validate(PackagesInput, packages, "packages");
    const value = { apt: unique(p.apt ?? []), npm: unique(p.npm ?? []) };
    return this.#updateAgentGroup(id, "packages = :value", { value: JSON.stringify(value) });
  }

  /** Replaces the host directories bound into the agent's sandbox. */
  setMounts(id: string, mounts: MountsInput): AgentGroup {
    const value = validate(MountsInput, mounts, "mounts").map((m) => ({
      source: m.source,
      target: m.target ?? null,
      readonly: m.readonly ?? true,
    }));
    return this.#updateAgentGroup(id, "mounts = :value", { value: JSON.stringify(value) });
  }

  /** Records (or replaces) the agent's grant on one MCP server; no tools, or `[]`, grants every tool. */
  setMcpGrant(id: string, grant: McpGrantInput): AgentGroup {
    const g = validate(McpGrantInput, grant, "MCP grant");
    return this.#db.transaction(() => {
      const grants = this.getAgentGroup(id).mcpGrants.filter((x) => x.server !== g.server);
      grants.push({ server: g.server, tools: g.tools && g.tools.length > 0 ? unique(g.tools) : null });
      grants.sort((a, b) => a.server < b.server ? -1 : a.server > b.server ? 1 : 0);
      return this.#updateAgentGroup(id, "mcp_grants = :value", { value: JSON.stringify(grants) });
    });
  }

  /** Everything a sandbox launch of agent `id` needs, persona composed. */
  getLaunchSpec(id: string): LaunchSpec {
    const g = this.getAgentGroup(id);
    return {
      agentGroupId: g.id,
      name: g.name,
      folder: g.folder,
      provider: g.provider,
      model: g.model,
      personaDocs: g.personaDocs,
      persona: composePersona(g.personaDocs),
      enabledTools: g.enabledTools,
      packages: g.packages,
      mounts: g.mounts,
      mcpGrants: g.mcpGrants,
    };
  }

  // ── Messaging groups ────────────────────────────────────────────────────

  /** The messaging group of (channel type, platform id, instance), created when missing; an existing one is returned unchanged. */
  getOrCreateMessagingGroup(input: MessagingGroupInput): MessagingGroup {
    const m = validate(MessagingGroupInput, input, "messaging group");
    const instance = m.instance ?? m.channelType;
    return this.#db.transaction(() => {
      this.#db.run(
        `INSERT INTO messaging_groups (id, channel_type, platform_id, instance, is_group, unknown_sender_policy)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel_type, platform_id, instance) DO NOTHING`,
        [newMessagingGroupId(), m.channelType, m.platformId, instance, m.isGroup, m.unknownSenderPolicy],
      );
      return decodeMessagingGroup(
        this.#db.get(
          "SELECT * FROM messaging_groups WHERE channel_type = ? AND platform_id = ? AND instance = ?",
          [m.channelType, m.platformId, instance],
        )!,
      );
    });
  }

  /** The messaging group `id`. */
  getMessagingGroup(id: string): MessagingGroup {
    const row = this.#db.get("SELECT * FROM messaging_groups WHERE id = ?", [id]);
    if (!row) throw new NotFoundError("messaging group", id);
    return decodeMessagingGroup(row);
  }

  /** Every messaging group, by channel type, platform id and instance. */
  listMessagingGroups(): MessagingGroup[] {
    return this.#db.all("SELECT * FROM messaging_groups ORDER BY channel_type, platform_id, instance")
      .map(decodeMessagingGroup);
  }

  /** Sets how the chat treats senders with no role or membership. */
  setUnknownSenderPolicy(id: string, policy: UnknownSenderPolicy): MessagingGroup {
    const p = validate(UnknownSenderPolicy, policy, "unknown-sender policy");
    if (this.#db.run("UPDATE messaging_groups SET unknown_sender_policy = ? WHERE id = ?", [p, id]) === 0) {
      throw new NotFoundError("messaging group", id);
    }
    return this.getMessagingGroup(id);
  }

  // ── Wirings ─────────────────────────────────────────────────────────────

  /** Creates a wiring (id generated when omitted) or replaces the one with the same id. */
  putWiring(input: WiringInput): Wiring {
    const w = validate(WiringInput, input, "wiring");
    const id = w.id ?? newWiringId();
    return this.#db.transaction(() => {
      this.#requireAgentGroup(w.agentGroupId);
      this.getMessagingGroup(w.messagingGroupId);
      this.#db.run(
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
    const row = this.#db.get("SELECT * FROM wirings WHERE id = ?", [id]);
    if (!row) throw new NotFoundError("wiring", id);
    return decodeWiring(row);
  }

  /** Every wiring, highest priority first, ties by id. */
  listWirings(): Wiring[] {
    return this.#db.all(`SELECT * FROM wirings ${WIRING_ORDER}`).map(decodeWiring);
  }

  /** The wirings of one messaging group, in routing order (highest priority first, ties by id). */
  listWiringsForMessagingGroup(messagingGroupId: string): Wiring[] {
    this.getMessagingGroup(messagingGroupId);
    return this.#db.all(`SELECT * FROM wirings WHERE messaging_group_id = ? ${WIRING_ORDER}`, [
      messagingGroupId,
    ])
      .map(decodeWiring);
  }

  /** Deletes the wiring `id`. */
  deleteWiring(id: string): void {
    if (this.#db.run("DELETE FROM wirings WHERE id = ?", [id]) === 0) throw new NotFoundError("wiring", id);
  }

  // ── Users, roles, members ───────────────────────────────────────────────

  /** Creates or replaces a user. */
  putUser(input: UserInput): User {
    const u = validate(UserInput, input, "user");
    this.#db.run(
      `INSERT INTO users (id, kind, display_name) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, display_name = excluded.display_name`,
      [u.id, u.kind, u.displayName],
    );
    return this.getUser(u.id);
  }

  /** The user `id`. */
  getUser(id: string): User {
    const row = this.#db.get("SELECT * FROM users WHERE id = ?", [id]);
    if (!row) throw new NotFoundError("user", id);
    return decodeUser(row);
  }

  /**
   * Grants a role (idempotent). `owner` is global only: a scoped owner would
   * read as owning everything, so it is refused with `ConflictError`.
   */
  grantRole(grant: RoleGrant): void {
    const g = validate(RoleGrant, grant, "role grant");
    if (g.role === "owner" && g.agentGroupId !== null) {
      throw new ConflictError("owner is a global role; grant admin to scope a user to one agent");
    }
    this.#db.transaction(() => {
      if (g.agentGroupId !== null) this.#requireAgentGroup(g.agentGroupId);
      this.#db.run("INSERT INTO roles (user_id, role, scope) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [
        g.userId,
        g.role,
        g.agentGroupId ?? "",
      ]);
    });
  }

  /** Revokes a role (idempotent). */
  revokeRole(grant: RoleGrant): void {
    const g = validate(RoleGrant, grant, "role grant");
    this.#db.transaction(() => {
      if (g.agentGroupId !== null) this.#requireAgentGroup(g.agentGroupId);
      this.#db.run("DELETE FROM roles WHERE user_id = ? AND role = ? AND scope = ?", [
        g.userId,
        g.role,
        g.agentGroupId ?? "",
      ]);
    });
  }

  /** Makes `userId` a member of agent group `agentGroupId` (idempotent). */
  addMember(userId: string, agentGroupId: string): void {
    const user = validate(UserId, userId, "user id");
    this.#db.transaction(() => {
      this.#requireAgentGroup(agentGroupId);
      this.#db.run("INSERT INTO members (user_id, agent_group_id) VALUES (?, ?) ON CONFLICT DO NOTHING", [
        user,
        agentGroupId,
      ]);
    });
  }

  /** Ends `userId`'s membership of agent group `agentGroupId` (idempotent). */
  removeMember(userId: string, agentGroupId: string): void {
    const user = validate(UserId, userId, "user id");
    this.#db.transaction(() => {
      this.#requireAgentGroup(agentGroupId);
      this.#db.run("DELETE FROM members WHERE user_id = ? AND agent_group_id = ?", [user, agentGroupId]);
    });
  }

  /** Members of an agent group, by user id. */
  listMembers(agentGroupId: string): UserId[] {
    this.#requireAgentGroup(agentGroupId);
    return this.#db.all("SELECT user_id FROM members WHERE agent_group_id = ? ORDER BY user_id", [
      agentGroupId,
    ])
      .map((r) => r.user_id as UserId);
  }

  /** Role grants that reach an agent group: global ones and those scoped to it. */
  listRoles(agentGroupId: string): { userId: UserId; role: "owner" | "admin"; scoped: boolean }[] {
    this.#requireAgentGroup(agentGroupId);
    return this.#db.all(
      "SELECT user_id, role, scope FROM roles WHERE scope IN ('', ?) ORDER BY user_id, role, scope",
      [agentGroupId],
    ).map((r) => ({
      userId: r.user_id as UserId,
      role: r.role as "owner" | "admin",
      scoped: r.scope !== "",
    }));
  }

  /**
   * Whether `userId` may use agent group `agentGroupId`, and why: owner,
   * then global admin, then admin of that agent, then member; else no access.
   */
  canAccess(userId: string, agentGroupId: string): Access {
    const user = validate(UserId, userId, "user id");
    this.#requireAgentGroup(agentGroupId);
    const r = this.#db.get(
      `SELECT
         EXISTS (SELECT 1 FROM roles WHERE user_id = :user AND role = 'owner') AS owner,
         EXISTS (SELECT 1 FROM roles WHERE user_id = :user AND role = 'admin' AND scope = '') AS global_admin,
         EXISTS (SELECT 1 FROM roles WHERE user_id = :user AND role = 'admin' AND scope = :group) AS scoped_admin,
         EXISTS (SELECT 1 FROM members WHERE user_id = :user AND agent_group_id = :group) AS member`,
      { user, group: agentGroupId },
    )!;
    if (r.owner) return { allowed: true, reason: "owner" };
    if (r.global_admin) return { allowed: true, reason: "global-admin" };
    if (r.scoped_admin) return { allowed: true, reason: "scoped-admin" };
    if (r.member) return { allowed: true, reason: "member" };
    return { allowed: false, reason: "no-access" };
  }

  // ── Destinations ────────────────────────────────────────────────────────

  /** Permits an agent to send to a channel target (idempotent; updates the display name). */
  addDestination(destination: DestinationInput): Destination {
    const d = validate(Destination, destination, "destination");
    this.#db.transaction(() => {
      this.#requireAgentGroup(d.agentGroupId);
      this.#db.run(
        `INSERT INTO destinations (agent_group_id, channel_type, platform_id, display_name) VALUES (?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET display_name = excluded.display_name`,
        [d.agentGroupId, d.channelType, d.platformId, d.displayName],
      );
    });
    return d;
  }

  /** Withdraws a destination (idempotent). */
  removeDestination(key: DestinationKey): void {
    this.#db.transaction(() => {
      this.#requireAgentGroup(key.agentGroupId);
      this.#db.run(
        "DELETE FROM destinations WHERE agent_group_id = ? AND channel_type = ? AND platform_id = ?",
        [
          key.agentGroupId,
          key.channelType,
          key.platformId,
        ],
      );
    });
  }

  /** True when the agent may send to this channel target. */
  checkDestination(key: DestinationKey): boolean {
    return this.#db.get(
      "SELECT 1 AS x FROM destinations WHERE agent_group_id = ? AND channel_type = ? AND platform_id = ?",
      [key.agentGroupId, key.channelType, key.platformId],
    ) !== undefined;
  }

  /** An agent's destinations, by channel type and platform id. */
  listDestinations(agentGroupId: string): Destination[] {
    this.#requireAgentGroup(agentGroupId);
    return this.#db.all(
      "SELECT * FROM destinations WHERE agent_group_id = ? ORDER BY channel_type, platform_id",
      [agentGroupId],
    ).map(decodeDestination);
  }

  // ── Sessions ────────────────────────────────────────────────────────────

  /**
   * The session of this conversation under `mode`, created (status `new`)
   * when absent; either way its `lastActive` is bumped to now.
   */
  resolveSession(
    agentGroupId: string,
    messagingGroupId: string,
    threadId: string | null | undefined,
    mode: SessionMode,
  ): Session {
    const { key, thread, sessionMode } = this.#partition(agentGroupId, messagingGroupId, threadId, mode);
    return this.#db.transaction(() => {
      this.#requireAgentGroup(agentGroupId);
      this.getMessagingGroup(messagingGroupId);
      const now = this.#now();
      this.#db.run(
        `INSERT INTO sessions (id, agent_group_id, messaging_group_id, thread_id, session_mode, partition_key,
           container_status, last_active, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 'new', ?, ?)
         ON CONFLICT (partition_key) DO UPDATE SET last_active = max(last_active, excluded.last_active)`,
        [
          newSessionId(),
          agentGroupId,
          messagingGroupId,
          sessionMode === "per-thread" ? thread : null,
          sessionMode,
          key,
          now,
          now,
        ],
      );
      return decodeSession(this.#db.get("SELECT * FROM sessions WHERE partition_key = ?", [key])!);
    });
  }

  /** The session `resolveSession` would return, without creating or touching one. */
  findSession(
    agentGroupId: string,
    messagingGroupId: string,
    threadId: string | null | undefined,
    mode: SessionMode,
  ): Session | undefined {
    const { key } = this.#partition(agentGroupId, messagingGroupId, threadId, mode);
    const row = this.#db.get("SELECT * FROM sessions WHERE partition_key = ?", [key]);
    return row && decodeSession(row);
  }

  /** The session `id`. */
  getSession(id: string): Session {
    const row = this.#db.get("SELECT * FROM sessions WHERE id = ?", [id]);
    if (!row) throw new NotFoundError("session", id);
    return decodeSession(row);
  }

  /** Every session (or one agent's), most recently active first, ties by id. */
  listSessions(agentGroupId?: string): Session[] {
    const order = "ORDER BY last_active DESC, id";
    if (agentGroupId === undefined) return this.#db.all(`SELECT * FROM sessions ${order}`).map(decodeSession);
    this.#requireAgentGroup(agentGroupId);
    return this.#db.all(`SELECT * FROM sessions WHERE agent_group_id = ? ${order}`, [agentGroupId]).map(
      decodeSession,
    );
  }

  /** Records where the session's sandbox is in its life. */
  setContainerStatus(id: string, status: ContainerStatus): Session {
    const s = validate(ContainerStatus, status, "container status");
    if (this.#db.run("UPDATE sessions SET container_status = ? WHERE id = ?", [s, id]) === 0) {
      throw new NotFoundError("session", id);
    }
    return this.getSession(id);
  }

  // ── Internals ───────────────────────────────────────────────────────────

  #findAgentGroup(id: string): AgentGroup | undefined {
    const row = this.#db.get("SELECT * FROM agent_groups WHERE id = ?", [id]);
    return row && decodeAgentGroup(row);
  }

  #requireAgentGroup(id: string): void {
    if (!this.#db.get("SELECT 1 AS x FROM agent_groups WHERE id = ?", [id])) {
      throw new NotFoundError("agent group", id);
    }
  }

  #updateAgentGroup(id: string, assignments: string, params: Row): AgentGroup {
    const changed = this.#db.run(`UPDATE agent_groups SET ${assignments}, updated_at = :now WHERE id = :id`, {
      ...params,
      now: this.#now(),
      id,
    });
    if (changed === 0) throw new NotFoundError("agent group", id);
    return this.getAgentGroup(id);
  }

  #partition(
    agentGroupId: string,
    messagingGroupId: string,
    threadId: string | null | undefined,
    mode: SessionMode,
  ) {
    const sessionMode = validate(SessionMode, mode, "session mode");
    const thread = validate(ThreadId, threadId, "thread id") || null;
    return { key: partitionKey(sessionMode, agentGroupId, messagingGroupId, thread), thread, sessionMode };
  }
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/** An allowlist in stored form: duplicates dropped in order; none or empty means every tool (null). */
function normalizeTools(tools: readonly string[] | null): string[] | null {
  return tools === null || tools.length === 0 ? null : unique(tools);
}
