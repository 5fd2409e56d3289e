/**
 * `/healthz`, `/readyz` (no token), `/metrics`, and `/v1/status`: what runs
 * the agents (behind the token: which sandbox, and whether it is the weaker
 * development fallback, is not for anonymous callers).
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import config from "../../../deno.json" with { type: "json" };
import type { ControlPlane } from "../../control_plane/mod.ts";
import { KEY_CUSTODY_MODES } from "../../keys/mod.ts";
import { routeGroup } from "../route_group.ts";
import { errorAnswers, jsonAnswer } from "../openapi.ts";
import { parkedSessions, ParkedView } from "./sessions.ts";

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

const IsolatorStatus = z.object({
  kind: z.enum(["runsc", "bwrap", "process", "kubernetes"]),
  strength: z.enum(["gvisor", "namespaces", "none"]),
  weaker: z.boolean().describe("true for the process backend: no sandbox, development only"),
  label: z.string().describe("the line `serve` printed at start: backend, strength and why it was chosen"),
});
const ProviderHealth = z.object({
  host: z.string().describe("the model host the sandboxes addressed"),
  calls: z.number().int(),
  errors: z.number().int(),
  consecutiveFailures: z.number().int(),
  failing: z.boolean().describe("the last call to it failed"),
  lastError: z.object({ time: z.string(), status: z.number().int(), cause: z.string() }).nullable(),
}).openapi("ProviderHealth");
const Status = z.object({
  version: z.string(),
  providers: z.array(ProviderHealth).describe(
    "per model host, as the model proxy saw its calls (failing first)",
  ),
  parked: z.array(ParkedView).describe(
    "sessions parked after repeated sandbox failures (`ironclaw session unpark`)",
  ),
  isolator: IsolatorStatus.nullable(),
  isolatorError: z.string().optional().describe("why no backend could be chosen (isolator is null then)"),
  keyCustody: z.enum(KEY_CUSTODY_MODES).describe(
    "how the master key is kept: passphrase (wrapped), or file (plaintext beside the data: development, weak)",
  ),
  mcp: z.object({
    servers: z.number().int().describe("registered MCP servers"),
    stdio: z.enum(["sandbox", "host-process", "refused"]).describe(
      "where stdio servers run: a sandbox of their own (runsc or bwrap, as the agents), host-process " +
        "(serve --mcp-allow-host-process: WEAKER, no sandbox) or refused",
    ),
    stdioDetail: z.string().describe("the sandbox's walls, or why stdio servers are refused"),
    each: z.array(z.object({ name: z.string(), runs: z.string() })).describe(
      "per registered server, how it runs",
    ),
    withheld: z.array(z.object({ agentGroupId: z.string(), server: z.string(), tool: z.string() })).describe(
      "granted tools whose server changed their description or schema since approval, as last seen: " +
        "withheld from the agent until re-approved (ironclaw mcp grant)",
    ),
  }),
  sandboxes: z.object({
    live: z.number().int().describe("sessions with a sandbox running now"),
    hibernated: z.array(z.string()).describe(
      "sessions whose idle sandbox was stopped (serve --idle-stop); the next message wakes each",
    ),
    spares: z.number().int().describe(
      "warm spares booted and waiting for a new or woken session (serve --warm-spares); not counted in live",
    ),
  }),
});

const status = createRoute({
  method: "get",
  path: "/v1/status",
  summary: "What runs the agents: the sandbox backend and whether it is the weaker development fallback",
  responses: { 200: jsonAnswer(Status, "the status"), ...errorAnswers() },
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

/** The registered MCP servers and how each runs. */
async function mcpStatus(plane: ControlPlane) {
  const servers = plane.mcpCatalog.list();
  const placement = await plane.mcpStdioPlacement();
  const stdio = placement.kind === "sandbox"
    ? `its own ${placement.sandbox.kind} sandbox`
    : placement.kind === "host-process"
    ? "a bare host process (WEAKER: no sandbox)"
    : "refused (no sandbox for it here)";
  return {
    servers: servers.length,
    stdio: placement.kind,
    stdioDetail: placement.kind === "sandbox"
      ? placement.sandbox.description
      : placement.kind === "host-process"
      ? "serve --mcp-allow-host-process: stdio servers run as bare host processes with a minimal environment"
      : placement.reason,
    each: servers.map(({ config }) => ({
      name: config.name,
      runs: config.transport === "http"
        ? `remote at ${new URL(config.url!).origin}, reached from the host through the address guard`
        : stdio,
    })),
    withheld: plane.mcpGrants.withheld(),
  };
}

/** The health and metrics routes. */
export function healthRoutes(plane: ControlPlane) {
  return routeGroup()
    .openapi(healthz, (c) => c.json({ status: "ok" as const, version: API_VERSION }, 200))
    .openapi(readyz, (c) => {
      const state = plane.readiness();
      return state.ready
        ? c.json({ status: "ready" as const }, 200)
        : c.json({ status: "not ready" as const, reason: state.reason }, 503);
    })
    .openapi(status, async (c) => {
      const common = {
        version: API_VERSION,
        providers: plane.proxy.health(),
        parked: parkedSessions(plane),
        keyCustody: plane.keys.custody,
        mcp: await mcpStatus(plane),
        sandboxes: {
          live: plane.sandboxes.sessions().length,
          hibernated: await plane.sweep.hibernated(),
          spares: plane.sandboxes.spareCount(),
        },
      };
      try {
        const { isolator, weaker, label } = await plane.isolator();
        return c.json({
          ...common,
          isolator: { kind: isolator.kind, strength: isolator.strength, weaker, label },
        }, 200);
      } catch (err) {
        return c.json({
          ...common,
          isolator: null,
          isolatorError: (err as Error).message,
        }, 200);
      }
    })
    .openapi(
      metrics,
      (c) =>
        c.text(plane.metrics.render(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }),
    );
}
