/**
 * The control plane's HTTP API as one Hono app. Requests pass, in order:
 * metrics and logging (outermost, so every answer is counted) → the
 * per-client rate limit (a bucket for requests with the token, a smaller one for those without, so
 * token-less requests cannot lock the operator out) → bearer auth (not for the health probes, nor a chat platform's webhook, which
 * carries its own secret) →
 * readiness → the body cap and a JSON nesting bound → zod validation of path, query and body → the
 * route, which calls the gateway or the registry.
 *
 * @module
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { ControlPlane } from "../control_plane/mod.ts";
import { fail, handleError } from "./errors.ts";
import { routeGroup } from "./route_group.ts";
import { bearerAuth, bearerCheck } from "./middleware/auth.ts";
import { refuseTraceMethods, requireHost } from "./middleware/edge_guard.ts";
import { bodyLimit, DEFAULT_BODY_LIMIT_BYTES } from "./middleware/body_limit.ts";
import { maxJsonDepth } from "./middleware/json_depth.ts";
import { apiMetrics, observe } from "./middleware/observe.ts";
import {
  type ApiRateLimit,
  DEFAULT_ANONYMOUS_RATE_LIMIT,
  DEFAULT_API_RATE_LIMIT,
  rateLimit,
} from "./middleware/rate_limit.ts";
import { requireReady } from "./middleware/readiness.ts";
import { auditRoutes } from "./routes/audit.ts";
import { backupRoutes } from "./routes/backup.ts";
import { changeRoutes } from "./routes/changes.ts";
import { API_VERSION, healthRoutes } from "./routes/health.ts";
import { agentRoutes } from "./routes/registry_agents.ts";
import { chatRoutes } from "./routes/registry_chats.ts";
import { peopleRoutes } from "./routes/registry_people.ts";
import { uiRoutes } from "./routes/ui_views.ts";
import { webChatRoutes } from "./routes/chat.ts";
import { questionRoutes } from "./routes/questions.ts";
import { sessionRoutes } from "./routes/sessions.ts";
import { vaultRoutes } from "./routes/vault.ts";
import { egressRoutes } from "./routes/egress.ts";
import { mcpRoutes } from "./routes/mcp.ts";
import { usageRoutes } from "./routes/usage.ts";
import { CHANNEL_WEBHOOK_PATHS, channelWebhookRoutes } from "./routes/channel_webhook.ts";
import { taskRoutes } from "./routes/tasks.ts";
import { workspaceFileRoutes } from "./routes/workspace_files.ts";
import { consoleLinkRoutes, consoleRoutes, ConsoleSessions, SESSION_COOKIE } from "./console/mod.ts";
import type { ApiEnv } from "./env.ts";

/** How the API is guarded. */
export interface ApiOptions {
  /** The bearer token every route but `/healthz` and `/readyz` requires. */
  token: string;
  /** Largest request body in bytes (default 256 KiB). */
  bodyLimitBytes?: number;
  /** Per-client token bucket for requests with the token (default 20 requests a second, bursts of 40). */
  rateLimit?: ApiRateLimit;
  /** Per-client token bucket for requests without it (default 10 a second, bursts of 20). */
  anonymousRateLimit?: ApiRateLimit;
  /** The `Host` names accepted (see `requireHost`); absent: any (in-process use). */
  allowedHosts?: readonly string[];
}

/**
 * The API app; `fetch(request)` serves one request (in-process tests call it
 * directly). Its type carries every route, so `hc<ApiApp>` (`apiClient`) is a
 * client typed by the routes themselves.
 */
export type ApiApp = ReturnType<typeof createApiApp>;

/** Where the OpenAPI document is served. */
export const OPENAPI_PATH = "/v1/openapi.json";

/** Builds the API over an open control plane. */
export function createApiApp(plane: ControlPlane, options: ApiOptions) {
  const app = routeGroup();
  app.onError(handleError);
  app.notFound((c) => fail(c, 404, "no such route"));

  app.use("*", observe(apiMetrics(plane.metrics)));
  app.use("*", refuseTraceMethods());
  if (options.allowedHosts) app.use("*", requireHost(options.allowedHosts));
  const operator = rateLimit(options.rateLimit ?? DEFAULT_API_RATE_LIMIT);
  const anonymous = rateLimit(options.anonymousRateLimit ?? DEFAULT_ANONYMOUS_RATE_LIMIT);
  const carriesToken = bearerCheck(options.token);
  const consoleSessions = new ConsoleSessions(options.token);
  // A signed-in console is the operator too (its page loads and long polls are not anonymous traffic).
  const isOperator = (c: Context<ApiEnv>) =>
    carriesToken(c.req.raw) ||
    consoleSessions.lookup(getCookie(c, SESSION_COOKIE)) !== undefined;
  app.use("*", (c, next) => isOperator(c) ? operator(c, next) : anonymous(c, next));
  // The console (/ui) signs in with its own session cookie, CSRF token and Origin check.
  app.use("*", bearerAuth(carriesToken, [...CHANNEL_WEBHOOK_PATHS, "/ui", "/ui/*"]));
  app.use("*", requireReady(() => plane.readiness()));
  app.use("*", bodyLimit(options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES));
  app.use("*", maxJsonDepth());

  // A registry write answers once its audit line is written (and any restart it calls for is done).
  app.use("/v1/registry/*", async (c, next) => {
    await next();
    if (c.req.method !== "GET") await plane.registryEdits.settled();
  });

  const routed = app
    .route("/", healthRoutes(plane))
    .route("/", changeRoutes(plane))
    .route("/", auditRoutes(plane))
    .route("/", backupRoutes(plane))
    .route("/", agentRoutes(plane))
    .route("/", chatRoutes(plane))
    .route("/", peopleRoutes(plane))
    .route("/", uiRoutes(plane))
    .route("/", webChatRoutes(plane))
    .route("/", questionRoutes(plane))
    .route("/", sessionRoutes(plane))
    .route("/", vaultRoutes(plane))
    .route("/", egressRoutes(plane))
    .route("/", mcpRoutes(plane))
    .route("/", usageRoutes(plane))
    .route("/", taskRoutes(plane))
    .route("/", workspaceFileRoutes(plane))
    .route("/", channelWebhookRoutes(plane))
    .route("/", consoleLinkRoutes(consoleSessions))
    .route("/", consoleRoutes(plane, consoleSessions));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.doc(OPENAPI_PATH, {
    openapi: "3.0.3",
    info: {
      title: "IronClaw control plane",
      version: API_VERSION,
      description:
        "Every change to an agent passes the gateway: verifiers, then a human, then apply and audit.",
    },
    security: [{ bearer: [] }],
  });
  return routed;
}
