/**
 * `/healthz`, `/readyz` (no token) and `/metrics`.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import config from "../../../deno.json" with { type: "json" };
import type { ControlPlane } from "../../control_plane/mod.ts";
import type { ApiEnv } from "../env.ts";
import { errorAnswers, jsonAnswer } from "../openapi.ts";

/** IronClaw's version, as `/healthz` reports it. */
export const API_VERSION: string = config.version;

const Health = z.object({ status: z.literal("ok"), version: z.string() });
const Ready = z.object({ status: z.literal("ready") });
const NotReady = z.object({ status: z.literal("not ready"), reason: z.string() });

const healthz = createRoute({
  method: "get",
  path: "/healthz",
  summary: "Liveness",
  security: [],
  responses: { 200: jsonAnswer(Health, "the process is up") },
});

const readyz = createRoute({
  method: "get",
  path: "/readyz",
  summary: "Readiness",
  security: [],
  responses: { 200: jsonAnswer(Ready, "serving"), 503: jsonAnswer(NotReady, "start-up not finished") },
});

const metrics = createRoute({
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics (text exposition format 0.0.4)",
  responses: {
    200: { description: "the metrics", content: { "text/plain": { schema: z.string() } } },
    ...errorAnswers(),
  },
});

/** Registers the health and metrics routes. */
export function healthRoutes(app: OpenAPIHono<ApiEnv>, plane: ControlPlane): void {
  app.openapi(healthz, (c) => c.json({ status: "ok" as const, version: API_VERSION }, 200));
  app.openapi(readyz, (c) => {
    const state = plane.readiness();
    return state.ready
      ? c.json({ status: "ready" as const }, 200)
      : c.json({ status: "not ready" as const, reason: state.reason }, 503);
  });
  app.openapi(
    metrics,
    (c) =>
      c.text(plane.metrics.render(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }),
  );
}
