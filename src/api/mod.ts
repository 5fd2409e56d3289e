/**
 * The control plane's HTTP API (see `docs/api.md`): Hono routes over the
 * gateway, registry and audit log, validated at the edge by the same zod
 * schemas that generate the OpenAPI document at `/v1/openapi.json`.
 *
 * ```ts
 * import { ControlPlane } from "../control_plane/mod.ts";
 *
 * const stateDir = await Deno.makeTempDir();
 * const plane = await ControlPlane.open({ stateDir, dev: true, background: false });
 * const stop = new AbortController();
 * const server = startApiServer(plane, {
 *   ...parseApiAddr("127.0.0.1:0"),
 *   token: "example-token",
 *   signal: stop.signal,
 * });
 * console.log(await (await fetch(`${server.url}/healthz`)).json());
 * stop.abort();
 * await server.finished;
 * await plane.close();
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
export { createApiApp, OPENAPI_PATH } from "./app.ts";
export { consoleWalls, decideConsoleWalls } from "./console_walls.ts";
export type { ApiApp, ApiOptions } from "./app.ts";
export { apiClient, type ApiRpc } from "./client.ts";
export { DEFAULT_API_ADDR, parseApiAddr, startApiServer } from "./server.ts";
export type { ApiServer, ApiServerOptions } from "./server.ts";
export { DEFAULT_BODY_LIMIT_BYTES } from "./middleware/body_limit.ts";
export { DEFAULT_API_RATE_LIMIT } from "./middleware/rate_limit.ts";
export type { ApiRateLimit } from "./middleware/rate_limit.ts";
export { API_VERSION } from "./routes/health.ts";
export { TELEGRAM_WEBHOOK_PATH } from "./routes/channel_webhook.ts";
