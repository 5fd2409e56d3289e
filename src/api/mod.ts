/**
 * The control plane's HTTP API (see `docs/api.md`): Hono routes over the
 * gateway, registry and audit log, validated at the edge by the same zod
 * schemas that generate the OpenAPI document at `/v1/openapi.json`.
 *
 * ```ts
 * const plane = await ControlPlane.open({ stateDir });
 * const server = startApiServer(plane, { ...parseApiAddr(DEFAULT_API_ADDR), token });
 * await server.finished;
 * ```
 *
 * @module
 */
export { createApiApp, OPENAPI_PATH } from "./app.ts";
export type { ApiApp, ApiOptions } from "./app.ts";
export { DEFAULT_API_ADDR, parseApiAddr, startApiServer } from "./server.ts";
export type { ApiServer, ApiServerOptions } from "./server.ts";
export { DEFAULT_BODY_LIMIT_BYTES } from "./middleware/body_limit.ts";
export { DEFAULT_API_RATE_LIMIT } from "./middleware/rate_limit.ts";
export type { ApiRateLimit } from "./middleware/rate_limit.ts";
export { API_VERSION } from "./routes/health.ts";
