/**
 * The frozen contract: the only code both the host and the sandbox import.
 * Changes need a dated entry in `docs/contract.md`.
 *
 * Queue handles are imported by role from `./queue/host.ts` or
 * `./queue/sandbox.ts`; the SQLite binding from `./sqlite/mod.ts`.
 *
 * @module
 */
export * from "./ids.ts";
export * from "./enums.ts";
export * from "./time.ts";
export * from "./json.ts";
export * from "./rows.ts";
export * from "./actions.ts";
export * from "./changes.ts";
export * from "./gateway.ts";
export * from "./schema.ts";
export * from "./seq.ts";
export * from "./cipher.ts";
export * from "./permissions.ts";
export * from "./sockets.ts";
export * from "./tools.ts";
export * from "./egress.ts";
export * from "./mcp.ts";
