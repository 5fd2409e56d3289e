/**
 * The web console at `/ui/`, served by the API's own app (same origin, so no
 * CORS opening). Every answer carries a strict Content-Security-Policy (no
 * inline script, nothing from another origin, `frame-ancestors 'none'`). The
 * API-wide `Host` check (421) defeats DNS rebinding; a state-changing request
 * must come from this origin (`Origin`) and carry the session's CSRF token.
 *
 * @module
 */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createRoute, z } from "@hono/zod-openapi";
import { DecisionOutcome } from "../../../contract/enums.ts";
import { AgentGroupId } from "../../../contract/ids.ts";
import { CreateAgentPayload, deriveAgentGroupId } from "../../../contract/changes.ts";
import { PERSONA_SECTIONS, TEMPLATES, toolCatalog } from "../../catalog/mod.ts";
import { submitChange } from "../routes/changes.ts";
import { sessionView } from "../routes/sessions.ts";
import { usageReport } from "../routes/usage.ts";
import { latestReport } from "../../verify/mod.ts";
import { MAX_CONTENT_CHARS } from "../../../contract/rows.ts";
import { MANDATORY_TOOLS, ToolName } from "../../../contract/tools.ts";
import type { JsonValue } from "../../../contract/json.ts";
import type { ControlPlane } from "../../control_plane/mod.ts";
import type { ApiEnv } from "../env.ts";
import { ApiError, describeIssues, fail } from "../errors.ts";
import { errorAnswers, jsonAnswer } from "../openapi.ts";
import { hostNameOf, isLoopbackName } from "../middleware/edge_guard.ts";
import { routeGroup } from "../route_group.ts";
import { CONSOLE_CSS, CONSOLE_ICON, CONSOLE_JS } from "./assets.ts";
import {
  AgentEditPage,
  AgentsPage,
  ApprovalsPage,
  AuditPage,
  ChatPage,
  CSRF_FIELD,
  type DecisionNotice,
  type Frame,
  IsolationPage,
  LoginPage,
  type McpOffer,
  type Proposed,
  SessionsPage,
  UsagePage,
} from "./pages.tsx";
import {
  type ConsoleSession,
  type ConsoleSessions,
  LINK_TTL_MS,
  sameSecret,
  SESSION_TTL_MS,
} from "./sessions.ts";

/** The session cookie's name. */
export const SESSION_COOKIE = "ironclaw_console";

/** The policy every console answer carries. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Who decides a change from the console, as the audit log names them. */
export const CONSOLE_ACTOR = "console:operator";

interface ConsoleEnv extends ApiEnv {
  Variables: { session: ConsoleSession };
}

/** Security headers on every answer under `/ui`. */
const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.header("Content-Security-Policy", CONSOLE_CSP);
  c.header("X-Frame-Options", "DENY");
  c.header("X-Content-Type-Options", "nosniff");
  // Not no-referrer: under it Chromium sends `Origin: null` on form posts, which the Origin check refuses.
  c.header("Referrer-Policy", "same-origin");
  c.header("Cross-Origin-Opener-Policy", "same-origin");
  c.header("Cross-Origin-Resource-Policy", "same-origin");
  if (!c.req.path.startsWith("/ui/assets/")) c.header("Cache-Control", "no-store");
};

/**
 * True when a request comes from a page of this origin: its `Origin` names
 * the `Host` it was sent to (the Host itself is checked API-wide), or, with no
 * `Origin`, the browser says `Sec-Fetch-Site: same-origin`.
 */
export function fromSameOrigin(headers: { origin?: string; host?: string; fetchSite?: string }): boolean {
  if (headers.origin !== undefined) {
    try {
      const origin = new URL(headers.origin);
      return /^https?:$/.test(origin.protocol) && origin.host === headers.host;
    } catch {
      return false; // "null" (a sandboxed frame, a data: page) and anything unparsable
    }
  }
  return headers.fetchSite === "same-origin";
}

const refuseCrossOrigin: MiddlewareHandler = async (c, next) => {
  if (c.req.method === "GET" || c.req.method === "HEAD") return await next();
  const same = fromSameOrigin({
    origin: c.req.header("origin"),
    host: c.req.header("host"),
    fetchSite: c.req.header("sec-fetch-site"),
  });
  if (!same) {
    return fail(c, 403, "cross-origin request refused: the console only takes forms from its own pages");
  }
  return await next();
};

/** The console's pages and sign-in, all under `/ui/`. */
export function consoleRoutes(plane: ControlPlane, sessions: ConsoleSessions) {
  const { gateway, registry } = plane;
  /**
   * The session cookie's attributes for request `c`: `Secure` unless the
   * browser reached the console by a loopback name. The `Host` is already one
   * this API answers to (421 otherwise), so a TLS proxy in front must pass the
   * public name on (`serve --api-host NAME`); `X-Forwarded-Proto` is not
   * trusted, since nothing says which proxy sent it.
   */
  const cookieOptions = (c: Context) => ({
    path: "/ui",
    httpOnly: true,
    sameSite: "Strict" as const,
    maxAge: SESSION_TTL_MS / 1000,
    secure: !isLoopbackName(hostNameOf(c.req.header("host") ?? "")),
  });

  /** Signed in (else to the sign-in page); a form must carry the session's CSRF token. */
  const signedIn: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
    const session = sessions.lookup(getCookie(c, SESSION_COOKIE));
    if (!session) {
      if (c.req.method === "GET") return c.redirect("/ui/login", 303);
      return fail(c, 401, "not signed in to the console: sign in at /ui/login");
    }
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      const form = await c.req.parseBody();
      const csrf = form[CSRF_FIELD];
      if (typeof csrf !== "string" || !sameSecret(csrf, session.csrf)) {
        return fail(c, 403, "the form's CSRF token is missing or stale: reload the page and try again");
      }
    }
    c.set("session", session);
    return await next();
  };

  const frame = (session: ConsoleSession, current: string): Frame => ({
    csrf: session.csrf,
    pending: gateway.pending().length,
    current,
  });

  const agentsPage = (session: ConsoleSession, notice?: DecisionNotice) =>
    AgentsPage({
      frame: frame(session, "/ui/agents"),
      agents: registry.listAgentGroups().map((g) => ({
        id: g.id,
        name: g.name,
        model: g.model,
        tools: g.enabledTools?.length ?? null,
        sessions: registry.listSessions(g.id).length,
      })),
      templates: TEMPLATES.map(({ id, name, description }) => ({ id, name, description })),
      notice,
    });

  const agentEditPage = (session: ConsoleSession, id: string, answer?: EditAnswer) => {
    const group = registry.getAgentGroup(id); // 404 for an unknown agent
    return AgentEditPage({
      frame: frame(session, "/ui/agents"),
      agent: {
        id: group.id,
        name: group.name,
        personaDocs: group.personaDocs,
        enabledTools: group.enabledTools,
      },
      sections: PERSONA_SECTIONS,
      tools: toolCatalog(),
      ...answer,
    });
  };

  /** Proposes `after` as a change of `kind` to agent `id` from its editor, and the editor's answer. */
  const proposeEdit = async (id: string, kind: "persona" | "enabled_tools", after: JsonValue) => {
    const record = await submitChange(plane, {
      kind,
      agentGroupId: AgentGroupId.parse(id),
      requestedBy: CONSOLE_ACTOR,
      after,
    });
    const { request } = record;
    const answer: EditAnswer = record.status === "rejected"
      ? { notice: { ok: false, text: `Refused by a verifier: ${record.reason ?? "no reason given"}` } }
      : {
        notice: { ok: true, text: `${request.id} proposed: approve it under Approvals to apply it.` },
        proposed: { id: request.id, kind: request.kind, before: request.before, after: request.after },
      };
    return { answer, status: record.status === "rejected" ? 400 as const : 202 as const };
  };

  const sessionsPage = async (session: ConsoleSession, notice?: DecisionNotice) =>
    SessionsPage({
      frame: frame(session, "/ui/sessions"),
      sessions: await Promise.all(registry.listSessions().map((s) => sessionView(plane, s))),
      notice,
    });

  const approvals = (session: ConsoleSession, notice?: DecisionNotice) => {
    const pending = gateway.pending();
    // A grant's approver sees the tools as the server offered them when it was proposed (what the approval pins).
    const offers = new Map<string, McpOffer>();
    for (const { request } of pending) {
      const offer = request.kind === "mcp_access" ? plane.mcpPins.offer(request.id) : undefined;
      if (offer) offers.set(request.id, offer);
    }
    return ApprovalsPage({
      frame: frame(session, "/ui/approvals"),
      pending,
      recent: gateway.history().filter((r) => r.decision).slice(-5).reverse(),
      offers,
      notice,
    });
  };

  const usagePage = (session: ConsoleSession, days: number) => {
    const now = new Date();
    const day = plane.usage.day;
    const today = day.of(now);
    const report = usageReport(plane, { days });
    const spent = (id: string) => plane.usage.store.totals(id, today);
    return UsagePage({
      frame: frame(session, "/ui/usage"),
      days,
      today,
      resetsAt: `${day.nextReset(now).toISOString().slice(0, 16).replace("T", " ")} UTC`,
      lines: report.rows.reverse(),
      budgets: report.budgets.map((b) => {
        const used = spent(b.agentGroupId);
        return {
          agentGroupId: b.agentGroupId,
          changeId: b.changeId,
          tokens: b.dailyTokens === null
            ? null
            : { cap: b.dailyTokens, spent: used.inputTokens + used.outputTokens },
          usd: b.dailyUsd === null ? null : { cap: b.dailyUsd, spent: used.costMicroUsd / 1e6 },
        };
      }),
    });
  };

  return new Hono<ConsoleEnv>()
    .get("/ui", (c) => c.redirect("/ui/", 301))
    .use("/ui/*", securityHeaders)
    .use("/ui/*", refuseCrossOrigin)
    .get("/ui/", (c) => {
      // Just signed in but no cookie came back: the browser refused a Secure cookie over plain HTTP.
      if (c.req.query(SIGNED_IN) !== undefined && !sessions.lookup(getCookie(c, SESSION_COOKIE))) {
        return c.html(<LoginPage error={COOKIE_REFUSED} />, 400);
      }
      return c.redirect("/ui/approvals", 303);
    })
    .get(
      "/ui/assets/console.css",
      (c) => c.body(CONSOLE_CSS, 200, { "Content-Type": "text/css; charset=utf-8" }),
    )
    .get(
      "/ui/assets/console.js",
      (c) => c.body(CONSOLE_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" }),
    )
    .get("/ui/assets/icon.svg", (c) => c.body(CONSOLE_ICON, 200, { "Content-Type": "image/svg+xml" }))
    .get("/ui/login", (c) => {
      const code = c.req.query("code");
      return c.html(<LoginPage code={code && /^[0-9a-f]{64}$/.test(code) ? code : undefined} />);
    })
    .post("/ui/login", async (c) => {
      const form = await c.req.parseBody();
      const field = (name: string) => typeof form[name] === "string" ? form[name].trim() : undefined;
      const signed = sessions.signIn({ token: field("token"), code: field("code") });
      if (!signed) {
        const error = field("code")
          ? "That link was already used or has expired: run ironclaw console for a new one."
          : "That is not the API token.";
        return c.html(<LoginPage error={error} />, 401);
      }
      setCookie(c, SESSION_COOKIE, signed.cookie, cookieOptions(c));
      return c.redirect(`/ui/?${SIGNED_IN}`, 303);
    })
    .use("/ui/*", signedIn)
    .post("/ui/logout", (c) => {
      sessions.signOut(getCookie(c, SESSION_COOKIE));
      deleteCookie(c, SESSION_COOKIE, { path: "/ui", secure: cookieOptions(c).secure });
      return c.redirect("/ui/login", 303);
    })
    .get("/ui/approvals", (c) => c.html(approvals(c.var.session)))
    .post("/ui/approvals/:id", async (c) => {
      const id = c.req.param("id");
      const outcome = DecisionOutcome.safeParse((await c.req.parseBody()).outcome);
      if (!outcome.success) return fail(c, 400, "outcome: must be approve or reject");
      try {
        const { record, applyError } = await gateway.decide(id, outcome.data, CONSOLE_ACTOR);
        const text = applyError
          ? `${id} was approved but not applied: ${applyError}`
          : `${id} ${record.status} (${record.request.kind} for ${record.request.agentGroupId}).`;
        return c.html(approvals(c.var.session, { ok: !applyError, text }));
      } catch (err) {
        const text = `${id}: ${err instanceof Error ? err.message : String(err)}`;
        return c.html(approvals(c.var.session, { ok: false, text }), 409);
      }
    })
    .get("/ui/agents", (c) => c.html(agentsPage(c.var.session)))
    .post("/ui/agents", async (c) => {
      const { template, name } = parseOr400(CreateAgentForm, await c.req.parseBody());
      const chosen = TEMPLATES.find((t) => t.id === template);
      if (!chosen) throw new ApiError(400, `template: no template ${JSON.stringify(template)}`);
      const after = { name, persona: chosen.personaDocs, enabled_tools: [...chosen.tools] };
      try {
        const record = await submitChange(plane, {
          kind: "create_agent",
          agentGroupId: deriveAgentGroupId({ name }),
          requestedBy: CONSOLE_ACTOR,
          after,
        });
        const notice = record.status === "rejected"
          ? { ok: false, text: `Refused by a verifier: ${record.reason ?? "no reason given"}` }
          : { ok: true, text: `${record.request.id} proposes ${name}: approve it under Approvals.` };
        return c.html(agentsPage(c.var.session, notice), record.status === "rejected" ? 400 : 202);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        return c.html(agentsPage(c.var.session, { ok: false, text: err.message }), err.status);
      }
    })
    .get("/ui/agents/:id", (c) => c.html(agentEditPage(c.var.session, c.req.param("id"))))
    .post("/ui/agents/:id/persona", async (c) => {
      const id = c.req.param("id");
      const current = registry.getAgentGroup(id).personaDocs;
      const form = await c.req.parseBody();
      const changed: Record<string, string> = {};
      for (const { key } of PERSONA_SECTIONS) {
        const value = form[key];
        if (typeof value !== "string") continue;
        // A textarea sends CRLF line ends; the documents are stored with LF.
        const text = value.replace(/\r\n?/g, "\n");
        if (text !== (current[key] ?? "")) changed[key] = text;
      }
      if (Object.keys(changed).length === 0) {
        return c.html(
          agentEditPage(c.var.session, id, { notice: { ok: false, text: "Nothing changed." } }),
          400,
        );
      }
      const { answer, status } = await proposeEdit(id, "persona", changed);
      return c.html(agentEditPage(c.var.session, id, answer), status);
    })
    .post("/ui/agents/:id/tools", async (c) => {
      const id = c.req.param("id");
      const { scope, tool } = parseOr400(ToolsForm, await c.req.parseBody({ all: true }));
      // Never an empty list for "only these": an empty list means every tool. The mandatory ones are always on.
      const tools = scope === "all" ? [] : [...new Set([...MANDATORY_TOOLS, ...tool])];
      const { answer, status } = await proposeEdit(id, "enabled_tools", { tools });
      return c.html(agentEditPage(c.var.session, id, answer), status);
    })
    .get("/ui/sessions", async (c) => c.html(await sessionsPage(c.var.session)))
    .post("/ui/sessions/:id/:action{stop|unpark}", async (c) => {
      const { action } = c.req.param();
      const { id } = plane.registry.getSession(c.req.param("id")); // 404 for an unknown session
      let notice: DecisionNotice = { ok: true, text: `${id} stopped; its next message starts it again.` };
      if (action === "unpark") {
        try {
          notice = await plane.waker.unpark(id)
            ? { ok: true, text: `${id} unparked.` }
            : { ok: false, text: `${id} is not parked.` };
        } catch (err) {
          notice = { ok: false, text: `${id} unparked, but its sandbox did not start: ${String(err)}` };
        }
      } else {
        await plane.waker.stop(id);
      }
      return c.html(await sessionsPage(c.var.session, notice));
    })
    .get("/ui/audit", async (c) => {
      const chain = await plane.audit.verify();
      // A damaged line also stops the tail: the page still shows where the chain breaks.
      const entries = await plane.audit.tail(AUDIT_PAGE_LINES).then((e) => e.reverse(), () => []);
      return c.html(AuditPage({ frame: frame(c.var.session, "/ui/audit"), chain, entries }));
    })
    .get("/ui/audit/export", async (c) => {
      const file = await Deno.open(plane.audit.path, { read: true });
      return c.body(file.readable, 200, {
        "Content-Type": "application/x-ndjson",
        "Content-Disposition": 'attachment; filename="audit.jsonl"',
      });
    })
    .get("/ui/isolation", async (c) =>
      c.html(IsolationPage({
        frame: frame(c.var.session, "/ui/isolation"),
        latest: await latestReport(plane.stateDir, plane.keys),
      })))
    .get("/ui/usage", (c) => {
      const { days } = parseOr400(UsageDaysQuery, c.req.query());
      return c.html(usagePage(c.var.session, days));
    })
    .get("/ui/chat", (c) => {
      const agents = registry.listAgentGroups().map(({ id, name }) => ({ id, name }));
      const wanted = c.req.query("agent") ?? agents[0]?.id;
      const agent = agents.find((a) => a.id === wanted);
      return c.html(ChatPage({ frame: frame(c.var.session, "/ui/chat"), agents, agent }));
    })
    .post("/ui/chat/send", async (c) => {
      const { agent, text } = parseOr400(ChatSendForm, await c.req.parseBody());
      if (!registry.hasAgentGroup(agent)) throw new ApiError(400, `agent: no agent ${JSON.stringify(agent)}`);
      // One console chat per agent: the web chat's default conversation (the agent's id).
      const sent = await plane.webChat.send({ agentGroupId: agent, text });
      const refused = sent.outcomes.find((o) => !o.engaged);
      return c.json(
        { chatId: sent.conversationId, engaged: sent.engaged, reason: refused?.reason ?? null },
        202,
      );
    })
    .get("/ui/chat/drain", async (c) => {
      const { agent, after } = parseOr400(ChatDrainQuery, c.req.query());
      if (after !== undefined) plane.webChat.acknowledge(agent, after);
      const items = await plane.webChat.drain(agent, {
        waitMs: CONSOLE_DRAIN_WAIT_MS,
        signal: c.req.raw.signal,
      });
      return c.json(
        { messages: items.map(({ seq, content, timestamp }) => ({ seq, content, timestamp })) },
        200,
      );
    });
}

/** The query the sign-in's redirect carries, so `/ui/` can tell a refused cookie from never signing in. */
const SIGNED_IN = "signed-in";

const COOKIE_REFUSED = "You signed in, but this browser did not keep the session cookie. Reached by a name " +
  "other than localhost or 127.0.0.1 the cookie is Secure, so the console needs HTTPS: put TLS in front of " +
  "ironclaw serve (passing the public Host on, with serve --api-host NAME), or open it on 127.0.0.1.";

/** Audit lines on the page (the export has them all). */
const AUDIT_PAGE_LINES = 200;

/** A long poll's wait: under the front's idle limit (60 s) and the drain's cap (30 s). */
const CONSOLE_DRAIN_WAIT_MS = 25_000;

const ChatSendForm = z.object({
  agent: AgentGroupId,
  text: z.string().trim().min(1, "must not be empty").max(MAX_CONTENT_CHARS),
});

const CreateAgentForm = z.object({
  template: z.string().min(1).max(64),
  name: CreateAgentPayload.shape.name,
});

const ToolsForm = z.object({
  scope: z.enum(["only", "all"]),
  tool: z.union([ToolName, z.array(ToolName)]).optional().transform((t) => t === undefined ? [] : [t].flat()),
});

/** What the editor says after a form: the notice, and the change proposed. */
interface EditAnswer {
  notice?: DecisionNotice;
  proposed?: Proposed;
}

const UsageDaysQuery = z.object({ days: z.coerce.number().int().min(1).max(366).default(7) });

const ChatDrainQuery = z.object({ agent: AgentGroupId, after: z.coerce.number().int().min(1).optional() });

/** `input` parsed by `schema`, or a 400 naming the field. */
function parseOr400<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ApiError(400, describeIssues(parsed.error));
  return parsed.data;
}

const LinkAnswer = z.object({
  /** The path to open on the API's address; the code in it works once. */
  path: z.string(),
  expiresAt: z.string(),
}).openapi("ConsoleLink");

const issueLink = createRoute({
  method: "post",
  path: "/v1/console/links",
  summary: `A one-time sign-in link for the web console (works once, within ${LINK_TTL_MS / 60_000} minutes)`,
  responses: { 201: jsonAnswer(LinkAnswer, "the link"), ...errorAnswers() },
});

/** The API route `ironclaw console` calls (with the token) for a one-time sign-in link. */
export function consoleLinkRoutes(sessions: ConsoleSessions) {
  return routeGroup().openapi(issueLink, (c) => {
    const { code, expiresAt } = sessions.issueLink();
    return c.json({ path: `/ui/login?code=${code}`, expiresAt: new Date(expiresAt).toISOString() }, 201);
  });
}
