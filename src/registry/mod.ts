/**
 * The registry: the host's durable record of agents, chats, routing rules,
 * people and grants, destinations and sessions, over the encrypted state
 * database; plus the pure rules it applies (sender namespacing, persona
 * composition). Typed errors come from `src/state`.
 *
 * ```ts
 * import { StateDb } from "../state/mod.ts";
 * import { resolveLibraryPath } from "../../contract/sqlite/mod.ts";
 *
 * const stateDir = await Deno.makeTempDir();
 * const key = crypto.getRandomValues(new Uint8Array(32)); // from key custody in the plane
 * {
 *   using state = StateDb.open(stateDir, { library: resolveLibraryPath(), key });
 *   const registry = new Registry(state);
 *   registry.putAgentGroup({ id: "main", name: "Main" });
 * }
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
export { Registry } from "./registry.ts";
export { LAST_ACTIVE_STEP_MS } from "./sessions.ts";
export type { DestinationKey, RegistryAction, RegistryOptions, RegistryWrite } from "./registry.ts";
export { namespaceUserId } from "./identity.ts";
export { composePersona, truncateUtf8 } from "./persona.ts";
export { defaultMemoryPartition, memoryOwner, SEVERAL_SENDERS } from "./partition.ts";
export type { MemoryOwner } from "./partition.ts";
export * from "./schemas.ts";
