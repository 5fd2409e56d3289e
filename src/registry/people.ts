/**
 * The registry's people: users, their roles (owner, admin globally or of one
 * agent) and memberships, and the access check that combines them.
 *
 * @module
 */
import { UserId } from "../../contract/mod.ts";
import { ConflictError, NotFoundError, validate } from "../state/mod.ts";
import { asJson, type RegistryBase } from "./core.ts";
import { decodeUser } from "./rows.ts";
import { type Access, RoleGrant, type User, UserInput } from "./schemas.ts";

/** Adds the people tables to a registry base. */
export function peopleTables<B extends RegistryBase>(Base: B) {
  abstract class PeopleTables extends Base {
    /** Creates or replaces a user. */
    putUser(input: UserInput): User {
      const u = validate(UserInput, input, "user");
      const read = () => asJson(this.db.get("SELECT * FROM users WHERE id = ?", [u.id]), decodeUser);
      return this.write({ action: "put-user", subject: `user ${u.id}`, read }, () => {
        this.db.run(
          `INSERT INTO users (id, kind, display_name) VALUES (?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, display_name = excluded.display_name`,
          [u.id, u.kind, u.displayName],
        );
        return this.getUser(u.id);
      });
    }

    /** The user `id`. */
    getUser(id: string): User {
      const row = this.db.get("SELECT * FROM users WHERE id = ?", [id]);
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
      this.write({ action: "grant-role", ...this.#roleWrite(g) }, () => {
        if (g.agentGroupId !== null) this.requireAgentGroup(g.agentGroupId);
        this.db.run("INSERT INTO roles (user_id, role, scope) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [
          g.userId,
          g.role,
          g.agentGroupId ?? "",
        ]);
      });
    }

    /** Revokes a role (idempotent). */
    revokeRole(grant: RoleGrant): void {
      const g = validate(RoleGrant, grant, "role grant");
      this.write({ action: "revoke-role", ...this.#roleWrite(g) }, () => {
        if (g.agentGroupId !== null) this.requireAgentGroup(g.agentGroupId);
        this.db.run("DELETE FROM roles WHERE user_id = ? AND role = ? AND scope = ?", [
          g.userId,
          g.role,
          g.agentGroupId ?? "",
        ]);
      });
    }

    /** Makes `userId` a member of agent group `agentGroupId` (idempotent). */
    addMember(userId: string, agentGroupId: string): void {
      const user = validate(UserId, userId, "user id");
      this.write({ action: "add-member", ...this.#memberWrite(user, agentGroupId) }, () => {
        this.requireAgentGroup(agentGroupId);
        this.db.run("INSERT INTO members (user_id, agent_group_id) VALUES (?, ?) ON CONFLICT DO NOTHING", [
          user,
          agentGroupId,
        ]);
      });
    }

    /** Ends `userId`'s membership of agent group `agentGroupId` (idempotent). */
    removeMember(userId: string, agentGroupId: string): void {
      const user = validate(UserId, userId, "user id");
      this.write({ action: "remove-member", ...this.#memberWrite(user, agentGroupId) }, () => {
        this.requireAgentGroup(agentGroupId);
        this.db.run("DELETE FROM members WHERE user_id = ? AND agent_group_id = ?", [user, agentGroupId]);
      });
    }

    /** Members of an agent group, by user id. */
    listMembers(agentGroupId: string): UserId[] {
      this.requireAgentGroup(agentGroupId);
      return this.db.all("SELECT user_id FROM members WHERE agent_group_id = ? ORDER BY user_id", [
        agentGroupId,
      ])
        .map((r) => r.user_id as UserId);
    }

    /** Role grants that reach an agent group: global ones and those scoped to it. */
    listRoles(agentGroupId: string): { userId: UserId; role: "owner" | "admin"; scoped: boolean }[] {
      this.requireAgentGroup(agentGroupId);
      return this.db.all(
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
      this.requireAgentGroup(agentGroupId);
      const r = this.db.get(
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

    /** A role grant's write: its state is whether the grant exists. */
    #roleWrite(g: RoleGrant) {
      const scope = g.agentGroupId ?? "";
      return {
        subject: `role ${g.role} of ${g.userId}${
          g.agentGroupId === null ? " (global)" : ` on ${g.agentGroupId}`
        }`,
        agentGroupId: g.agentGroupId,
        read: () =>
          this.db.get("SELECT 1 AS x FROM roles WHERE user_id = ? AND role = ? AND scope = ?", [
              g.userId,
              g.role,
              scope,
            ])
            ? { granted: true }
            : null,
      };
    }

    /** A membership's write: its state is whether the membership exists. */
    #memberWrite(user: UserId, agentGroupId: string) {
      return {
        subject: `member ${user} of ${agentGroupId}`,
        agentGroupId,
        read: () =>
          this.db.get("SELECT 1 AS x FROM members WHERE user_id = ? AND agent_group_id = ?", [
              user,
              agentGroupId,
            ])
            ? { member: true }
            : null,
      };
    }
  }
  return PeopleTables;
}
