/**
 * The registry: agents, chats, routing rules, people and their grants,
 * permitted destinations and sessions, all read from and written to the
 * encrypted state database on every call (no in-memory source of truth, so
 * nothing is lost on restart).
 *
 * It is assembled from one part per group of tables, split as the API's
 * registry routes are: `agent_groups.ts`, `chats.ts` (messaging groups,
 * wirings, destinations), `people.ts` (users, roles, members, access) and
 * `sessions.ts`, each over `core.ts`, which holds the one write path every
 * configuration write takes (and that reports it: who, what, before → after).
 *
 * Getters and mutators throw `NotFoundError` for unknown ids and
 * `InvalidInputError` for bad input; predicates (`has…`, `check…`, `find…`)
 * answer false or undefined instead.
 *
 * @module
 */
import { agentGroupTables } from "./agent_groups.ts";
import { chatTables } from "./chats.ts";
import { RegistryCore } from "./core.ts";
import { peopleTables } from "./people.ts";
import { sessionTables } from "./sessions.ts";

export type { DestinationKey } from "./chats.ts";
export type { RegistryAction, RegistryOptions, RegistryWrite } from "./core.ts";

/** The durable registry over a {@link StateDb}. */
export class Registry extends sessionTables(peopleTables(chatTables(agentGroupTables(RegistryCore)))) {}
