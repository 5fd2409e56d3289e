/**
 * The console's pages, rendered on the server with Hono's JSX (which escapes
 * every value it prints). Forms post back with the session's CSRF token.
 *
 * @module
 */
import type { Child } from "hono/jsx";
import type { AuditEntry, ChangeRecord } from "../../../contract/gateway.ts";
import type { VerifyResult } from "../../audit/mod.ts";
import type { UsageRow } from "../../usage/mod.ts";
import { isNotProven, type LatestReport, type Wall } from "../../verify/mod.ts";
import type { JsonValue } from "../../../contract/json.ts";
import { MAX_CONTENT_CHARS } from "../../../contract/rows.ts";
import { changeDiff } from "./diff.ts";
import type { PersonaSection, ToolInfo } from "../../catalog/mod.ts";
import { MAX_PERSONA_SECTION_BYTES } from "../../../contract/changes.ts";

/** The pages in the top bar, in order. */
export const PAGES = [
  { path: "/ui/approvals", title: "Approvals" },
  { path: "/ui/chat", title: "Chat" },
  { path: "/ui/agents", title: "Agents" },
  { path: "/ui/sessions", title: "Sessions" },
  { path: "/ui/audit", title: "Audit" },
  { path: "/ui/isolation", title: "Isolation" },
  { path: "/ui/usage", title: "Usage" },
] as const;

/** What every signed-in page needs besides its body. */
export interface Frame {
  csrf: string;
  /** Pending changes: the Approvals badge. */
  pending: number;
  current: string;
}

/** The hidden field every form carries. */
export const CSRF_FIELD = "_csrf";

function Document(props: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · IronClaw</title>
        <link rel="icon" href="/ui/assets/icon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/ui/assets/console.css" />
        <script src="/ui/assets/console.js" defer></script>
      </head>
      <body>{props.children}</body>
    </html>
  );
}

/** A signed-in page: the top bar (with the approvals badge and sign-out) and `children`. */
export function Layout(props: { title: string; frame: Frame; children: Child }) {
  const { frame } = props;
  return (
    <Document title={props.title}>
      <a class="skip" href="#main">Skip to content</a>
      <header>
        <a class="brand" href="/ui/">IronClaw</a>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a href={p.path} aria-current={p.path === frame.current ? "page" : undefined}>
              {p.title}
              {p.path === "/ui/approvals" && frame.pending > 0 && (
                <span class="badge" aria-label={`${frame.pending} pending`}>{frame.pending}</span>
              )}
            </a>
          ))}
        </nav>
        <form method="post" action="/ui/logout">
          <input type="hidden" name={CSRF_FIELD} value={frame.csrf} />
          <button type="submit">Sign out</button>
        </form>
      </header>
      <main id="main">{props.children}</main>
    </Document>
  );
}

/** A page's one-line answer to the form just sent (green when it worked). */
function Notice(props: { notice?: DecisionNotice }) {
  if (!props.notice) return null;
  return <p class={props.notice.ok ? "notice" : "notice error"} role="status">{props.notice.text}</p>;
}

/** A table of `rows`, one column per header, each row's cells from `cells` (attributes from `rowAttrs`). */
function DataTable<T>(props: {
  headers: readonly string[];
  rows: readonly T[];
  cells: (row: T) => Child[];
  caption?: string;
  rowAttrs?: (row: T) => Record<string, string>;
}) {
  // Named cell builders, not keyed elements: Hono renders a `key` into the HTML, and nothing here reconciles.
  const headerCell = (header: string) => <th scope="col">{header}</th>;
  const cell = (content: Child) => <td>{content}</td>;
  const tableRow = (row: T) => <tr {...props.rowAttrs?.(row)}>{props.cells(row).map(cell)}</tr>;
  return (
    <table>
      {props.caption && <caption class="sr-only">{props.caption}</caption>}
      <thead>
        <tr>{props.headers.map(headerCell)}</tr>
      </thead>
      <tbody>{props.rows.map(tableRow)}</tbody>
    </table>
  );
}

/** The sign-in page: paste the API token, or continue a one-time link. */
export function LoginPage(props: { code?: string; error?: string }) {
  return (
    <Document title="Sign in">
      <main id="main" class="login">
        <div class="card">
          <h1>Sign in to IronClaw</h1>
          {props.error && <p class="notice error" role="alert">{props.error}</p>}
          <form method="post" action="/ui/login">
            {props.code
              ? (
                <>
                  <p>This one-time link signs this browser in. It works once, within five minutes.</p>
                  <input type="hidden" name="code" value={props.code} />
                </>
              )
              : (
                <>
                  <label for="token">API token</label>
                  <input
                    id="token"
                    name="token"
                    type="password"
                    autocomplete="current-password"
                    required
                    autofocus
                  />
                  <p class="meta">
                    The token <code>ironclaw serve</code> uses (or run <code>ironclaw console</code>{" "}
                    for a one-time link). It stays on the server: this browser gets a session cookie.
                  </p>
                </>
              )}
            <button class="primary" type="submit">Sign in</button>
          </form>
        </div>
      </main>
    </Document>
  );
}

/** A change's before → after as a line diff. */
export function Diff(props: { change: { kind: string; before: JsonValue | null; after: JsonValue } }) {
  const lines = changeDiff(props.change);
  return (
    <div class="diff" role="group" aria-label="Changes: removed lines start with −, added with +">
      {lines.map((l) => (
        <div class={l.op}>
          {l.op === "added" ? "+ " : l.op === "removed" ? "− " : "  "}
          {l.text}
        </div>
      ))}
    </div>
  );
}

/** What the last decision did, read back from the gateway. */
export interface DecisionNotice {
  ok: boolean;
  text: string;
}

/** Pending changes with their diffs and approve/reject; the last few decided below. */
export function ApprovalsPage(
  props: {
    frame: Frame;
    pending: ChangeRecord[];
    recent: ChangeRecord[];
    /** What each pending `mcp_access` change's server offered when it was proposed, by change id. */
    offers: Map<string, McpOffer>;
    notice?: DecisionNotice;
  },
) {
  const { frame } = props;
  return (
    <Layout title="Approvals" frame={frame}>
      <h1>Approvals</h1>
      <Notice notice={props.notice} />
      {props.pending.length === 0 && <p class="card">Nothing is waiting for a decision.</p>}
      {props.pending.map((record) => {
        const r = record.request;
        return (
          <section class="card" aria-labelledby={`h-${r.id}`} data-change={r.id}>
            <h2 id={`h-${r.id}`}>{r.kind} for {r.agentGroupId}</h2>
            <p class="meta">
              {r.id} · asked by {r.requestedBy} · {r.createdAt}
            </p>
            {record.reason && <p>Why it needs you: {record.reason}</p>}
            <Diff change={r} />
            {props.offers.has(r.id) && <OfferedTools offer={props.offers.get(r.id)!} after={r.after} />}
            <form method="post" action={`/ui/approvals/${r.id}`} class="actions">
              <input type="hidden" name={CSRF_FIELD} value={frame.csrf} />
              <button class="primary" type="submit" name="outcome" value="approve">Approve</button>
              <button type="submit" name="outcome" value="reject">Reject</button>
            </form>
          </section>
        );
      })}
      {props.recent.length > 0 && (
        <section class="card">
          <h2>Recently decided</h2>
          <div class="table-wrap">
            <DataTable
              headers={["Change", "Kind", "Agent", "Status", "By"]}
              rows={props.recent}
              cells={(rec) => [
                rec.request.id,
                rec.request.kind,
                rec.request.agentGroupId,
                rec.status,
                rec.decision?.decidedBy ?? "",
              ]}
            />
          </div>
        </section>
      )}
    </Layout>
  );
}

/** The tools an MCP server offered with a grant's proposal. */
export interface McpOffer {
  server: string;
  tools: { name: string; description: string; inputSchema: Record<string, unknown>; hash: string }[];
}

/**
 * What an `mcp_access` change grants, as the server offered it: each tool's
 * description and input schema (what the agent will be told and may send),
 * and the hash the approval pins. Tools the change does not name are left out.
 */
function OfferedTools(props: { offer: McpOffer; after: JsonValue }) {
  const { offer } = props;
  const named = (props.after as { tools?: string[] } | null)?.tools;
  const granted = named && named.length > 0 ? offer.tools.filter((t) => named.includes(t.name)) : offer.tools;
  return (
    <div class="tools" data-offer={offer.server}>
      <h3>
        {granted.length} tool{granted.length === 1 ? "" : "s"} of {offer.server}, as the server offers them
      </h3>
      {granted.map((t) => (
        <details class="tool" data-tool={t.name} open>
          <summary>
            <code>{t.name}</code>: {t.description || <em>no description</em>}
          </summary>
          <p class="meta">Input schema (pinned as {t.hash.slice(0, 12)}…):</p>
          <pre>{JSON.stringify(t.inputSchema, null, 2)}</pre>
        </details>
      ))}
    </div>
  );
}

/** Chat with one agent: replies arrive without a reload (`console.js` long-polls the drain). */
export function ChatPage(
  props: { frame: Frame; agents: { id: string; name: string }[]; agent?: { id: string; name: string } },
) {
  const { frame, agent } = props;
  return (
    <Layout title={agent ? `Chat with ${agent.name}` : "Chat"} frame={frame}>
      <h1>Chat</h1>
      <form method="get" action="/ui/chat" class="card actions">
        <label for="agent" class="sr-only">Agent</label>
        <select id="agent" name="agent">
          {props.agents.map((a) => (
            <option value={a.id} selected={a.id === agent?.id}>{a.name} ({a.id})</option>
          ))}
        </select>
        <button type="submit">Open</button>
      </form>
      {agent && (
        <section class="card chat" id="chat" data-agent={agent.id} aria-label={`Chat with ${agent.name}`}>
          <div class="log" data-log role="log" aria-live="polite"></div>
          <p class="meta" data-status role="status"></p>
          <noscript>
            <p class="notice error">The chat needs JavaScript (the console's own script; nothing else).</p>
          </noscript>
          <form method="post" action="/ui/chat/send" data-send>
            <input type="hidden" name={CSRF_FIELD} value={frame.csrf} />
            <input type="hidden" name="agent" value={agent.id} />
            <label for="text">Message</label>
            <textarea id="text" name="text" rows={3} required maxlength={MAX_CONTENT_CHARS}></textarea>
            <div class="actions">
              <button class="primary" type="submit">Send</button>
            </div>
          </form>
        </section>
      )}
    </Layout>
  );
}

/** The audit log: the chain's status, the newest lines (newest first) and the whole file to download. */
export function AuditPage(props: { frame: Frame; chain: VerifyResult; entries: AuditEntry[] }) {
  const { chain } = props;
  return (
    <Layout title="Audit" frame={props.frame}>
      <h1>Audit</h1>
      <section class="card" aria-label="Chain status">
        {chain.ok
          ? (
            <p class="notice" data-chain="ok">
              Chain intact: {chain.lines} lines, every hash checked
              {chain.anchored ? ", the head matches the state database's anchor" : " (no anchor to compare)"}.
              {chain.legacyLines > 0 && ` ${chain.legacyLines} early lines predate the keyed chain.`}
            </p>
          )
          : (
            <p class="notice error" data-chain="broken" role="alert">
              Chain broken at line {chain.line}: {chain.reason}
            </p>
          )}
        {chain.ok && <p class="meta">Head: {chain.head}</p>}
        <p>
          <a href="/ui/audit/export" download="audit.jsonl">Export the whole log (JSON lines)</a>
        </p>
      </section>
      <div class="card table-wrap">
        <DataTable
          caption={`The newest ${props.entries.length} audit lines, newest first`}
          headers={["Time", "Stage", "Change", "Kind", "Detail"]}
          rows={props.entries}
          cells={(e) => [e.time, e.stage, e.changeId, e.kind ?? "", e.detail ?? ""]}
        />
      </div>
    </Layout>
  );
}

/** The agents, and a form that proposes a new one from a template (a `create_agent` change to approve). */
export function AgentsPage(props: {
  frame: Frame;
  agents: { id: string; name: string; model: string | null; tools: number | null; sessions: number }[];
  templates: { id: string; name: string; description: string }[];
  notice?: DecisionNotice;
}) {
  return (
    <Layout title="Agents" frame={props.frame}>
      <h1>Agents</h1>
      <Notice notice={props.notice} />
      <div class="card table-wrap">
        <p class="meta">Open an agent to edit its persona and tools.</p>
        <DataTable
          headers={["Name", "Id", "Model", "Tools", "Sessions"]}
          rows={props.agents}
          cells={(a) => [editLink(a), a.id, a.model ?? "default", a.tools ?? "all built-in", a.sessions]}
        />
      </div>
      <section class="card">
        <h2>New agent from a template</h2>
        <p class="meta">This proposes the agent; it exists once a human approves it under Approvals.</p>
        <form method="post" action="/ui/agents">
          <input type="hidden" name={CSRF_FIELD} value={props.frame.csrf} />
          <label for="template">Template</label>
          <select id="template" name="template">
            {props.templates.map((t) => <option key={t.id} value={t.id}>{t.name}: {t.description}</option>)}
          </select>
          <label for="name">Name</label>
          <input id="name" name="name" type="text" required maxlength={64} />
          <div class="actions">
            <button class="primary" type="submit">Propose agent</button>
          </div>
        </form>
      </section>
    </Layout>
  );
}

/** The agent's name, linking to its editor (first, so a phone shows it without scrolling the table). */
function editLink(agent: { id: string; name: string }) {
  return <a href={`/ui/agents/${agent.id}`}>{agent.name}</a>;
}

/** The agent the editor edits, as it is now. */
export interface EditedAgent {
  id: string;
  name: string;
  personaDocs: Partial<Record<PersonaSection["key"], string>>;
  /** `null`: every built-in tool, now and future. */
  enabledTools: string[] | null;
}

/** What the editor just proposed: the change, to show its diff. */
export interface Proposed {
  id: string;
  kind: string;
  before: JsonValue | null;
  after: JsonValue;
}

/**
 * One agent's persona documents and built-in tools, each form proposing a
 * gateway change (`persona`, `enabled_tools`) that applies only once a human
 * approves it under Approvals; the change just proposed is shown as its diff.
 */
export function AgentEditPage(props: {
  frame: Frame;
  agent: EditedAgent;
  sections: readonly PersonaSection[];
  tools: readonly ToolInfo[];
  proposed?: Proposed;
  notice?: DecisionNotice;
}) {
  const { agent, frame, proposed } = props;
  const enabled = (name: string) => agent.enabledTools === null || agent.enabledTools.includes(name);
  return (
    <Layout title={`Edit ${agent.name}`} frame={frame}>
      <h1>
        {agent.name} <span class="meta">({agent.id})</span>
      </h1>
      <p class="meta">
        <a href="/ui/agents">All agents</a>. Saving proposes a change; nothing changes until it is approved
        under <a href="/ui/approvals">Approvals</a>.
      </p>
      <Notice notice={props.notice} />
      {proposed && (
        <section class="card" aria-labelledby="h-proposed" data-proposed={proposed.id}>
          <h2 id="h-proposed">Proposed: {proposed.kind} ({proposed.id})</h2>
          <Diff change={proposed} />
        </section>
      )}
      <section class="card" aria-labelledby="h-persona">
        <h2 id="h-persona">Persona</h2>
        <form method="post" action={`/ui/agents/${agent.id}/persona`}>
          <input type="hidden" name={CSRF_FIELD} value={frame.csrf} />
          {props.sections.map((section) => (
            <>
              <label for={`persona-${section.key}`}>{section.title} ({section.filename})</label>
              <p class="meta" id={`help-${section.key}`}>{section.help}</p>
              <textarea
                id={`persona-${section.key}`}
                name={section.key}
                rows={5}
                maxlength={MAX_PERSONA_SECTION_BYTES}
                aria-describedby={`help-${section.key}`}
              >
                {agent.personaDocs[section.key] ?? ""}
              </textarea>
            </>
          ))}
          <div class="actions">
            <button class="primary" type="submit">Propose persona change</button>
          </div>
        </form>
      </section>
      <section class="card" aria-labelledby="h-tools">
        <h2 id="h-tools">Built-in tools</h2>
        <form method="post" action={`/ui/agents/${agent.id}/tools`}>
          <input type="hidden" name={CSRF_FIELD} value={frame.csrf} />
          <fieldset>
            <legend>Which tools</legend>
            <label class="choice">
              <input type="radio" name="scope" value="only" checked={agent.enabledTools !== null} />{" "}
              Only the tools ticked below
            </label>
            <label class="choice">
              <input type="radio" name="scope" value="all" checked={agent.enabledTools === null} />{" "}
              Every built-in tool, now and future
            </label>
          </fieldset>
          <fieldset>
            <legend>Tools</legend>
            {props.tools.map((tool) => (
              <label class="choice">
                <input
                  type="checkbox"
                  name="tool"
                  value={tool.name}
                  checked={tool.mandatory || enabled(tool.name)}
                  disabled={tool.mandatory}
                />{" "}
                <span>
                  <strong>{tool.title}</strong> <code>{tool.name}</code>
                  {tool.mandatory && " (always on)"}
                  <span class="meta">{tool.description}</span>
                </span>
              </label>
            ))}
          </fieldset>
          <div class="actions">
            <button class="primary" type="submit">Propose tools change</button>
          </div>
        </form>
      </section>
    </Layout>
  );
}

/** One session as the Sessions page shows it. */
export interface SessionRow {
  id: string;
  agentGroupId: string;
  running: boolean;
  parked: { failures: number; reason: string } | null;
  lastActive: string | null;
}

/** Sessions with their sandbox state; stop a running one, unpark a parked one. */
export function SessionsPage(props: { frame: Frame; sessions: SessionRow[]; notice?: DecisionNotice }) {
  const { frame } = props;
  return (
    <Layout title="Sessions" frame={frame}>
      <h1>Sessions</h1>
      <Notice notice={props.notice} />
      <div class="card table-wrap">
        <DataTable
          headers={["Session", "Agent", "State", "Last active", "Action"]}
          rows={props.sessions}
          rowAttrs={(s) => ({ "data-session": s.id })}
          cells={(s) => [
            s.id,
            s.agentGroupId,
            s.parked
              ? `parked after ${s.parked.failures} failures: ${s.parked.reason}`
              : s.running
              ? "running"
              : "stopped",
            s.lastActive ?? "",
            (s.running || s.parked) && (
              <form method="post" action={`/ui/sessions/${s.id}/${s.parked ? "unpark" : "stop"}`}>
                <input type="hidden" name={CSRF_FIELD} value={frame.csrf} />
                <button type="submit">{s.parked ? "Unpark" : "Stop"}</button>
              </form>
            ),
          ]}
        />
      </div>
    </Layout>
  );
}

/** A wall's status word, as `ironclaw verify` prints it. */
function wallStatus(wall: Wall): "held" | "FALLEN" | "NOT PROVEN" {
  return wall.held ? "held" : isNotProven(wall) ? "NOT PROVEN" : "FALLEN";
}

/** A wall's status, marked up for the eye (held reads differently from fallen). */
function wallBadge(wall: Wall) {
  return <strong class={wall.held ? "held" : "fallen"}>{wallStatus(wall)}</strong>;
}

/**
 * The newest `ironclaw verify` report kept in the state directory: its
 * signature check, the isolator, and each wall with its status and detail.
 */
export function IsolationPage(props: { frame: Frame; latest?: LatestReport }) {
  const { latest } = props;
  const report = latest?.check.ok ? latest.check.report : undefined;
  const fallen = report?.walls.filter((w) => !w.held).length ?? 0;
  return (
    <Layout title="Isolation" frame={props.frame}>
      <h1>Isolation</h1>
      {!latest && (
        <section class="card" data-report="none">
          <p>
            No <code>ironclaw verify</code> report is kept in this state directory yet. Run{" "}
            <code>ironclaw verify</code>{" "}
            on this host: it attacks a real sandbox from inside and keeps its signed report here.
          </p>
        </section>
      )}
      {latest && !latest.check.ok && (
        <p class="notice error" role="alert" data-report="unsigned">
          The newest report ({latest.path}) does not check:{" "}
          {latest.check.reason}. Its walls are not shown; run <code>ironclaw verify</code> again.
        </p>
      )}
      {report && (
        <>
          <section class="card" aria-label="Report" data-report="ok">
            <p class={report.held ? "notice" : "notice error"} data-held={String(report.held)}>
              {report.held
                ? `Every wall held (${report.walls.length}).`
                : `${fallen} of ${report.walls.length} walls did not hold.`}{" "}
              Signature checked: signed by this host's master key ({report.master}).
            </p>
            <p class="meta">
              {report.createdAt} · isolator {report.isolator.kind} (strength {report.isolator.strength}) ·
              {" "}
              {report.probe ? `probe ${report.probe.mode}` : "probe not recorded"} · {latest!.path}
            </p>
          </section>
          <div class="card table-wrap">
            <DataTable
              caption="Each wall of the report"
              headers={["Wall", "Status", "Detail"]}
              rows={report.walls}
              rowAttrs={(w) => ({ "data-wall": w.name, "data-status": wallStatus(w) })}
              cells={(
                w,
              ) => [w.name, wallBadge(w), w.detail]}
            />
          </div>
        </>
      )}
    </Layout>
  );
}

/** One group's, day's and model's usage, its cost in USD. */
export type UsageLine = Omit<UsageRow, "costMicroUsd"> & { costUsd: number };

/** A group's daily caps, what it spent of them today, and what is left. */
export interface BudgetLine {
  agentGroupId: string;
  changeId: string;
  tokens: { cap: number; spent: number } | null;
  usd: { cap: number; spent: number } | null;
}

const usd = (value: number) => `$${value.toFixed(4)}`;

/** What is left of a cap, or that it is spent. */
function left(cap: { cap: number; spent: number } | null, show: (n: number) => string) {
  if (!cap) return "no cap";
  const rest = cap.cap - cap.spent;
  return rest > 0
    ? `${show(rest)} left of ${show(cap.cap)}`
    : `SPENT (${show(cap.spent)} of ${show(cap.cap)})`;
}

/** Model tokens and cost per agent, day and model, and each budgeted agent's caps and what is left today. */
export function UsagePage(props: {
  frame: Frame;
  days: number;
  today: string;
  resetsAt: string;
  lines: UsageLine[];
  budgets: BudgetLine[];
}) {
  return (
    <Layout title="Usage" frame={props.frame}>
      <h1>Usage</h1>
      <section class="card" aria-labelledby="h-budgets">
        <h2 id="h-budgets">Budgets today ({props.today})</h2>
        {props.budgets.length === 0
          ? (
            <p>
              No agent has a daily budget. Propose one with{" "}
              <code>ironclaw budget set --agent ID --daily-tokens N</code>; it applies once approved.
            </p>
          )
          : (
            <div class="table-wrap">
              <DataTable
                caption="Each budgeted agent's caps and what is left today"
                headers={["Agent", "Tokens", "USD", "Set by"]}
                rows={props.budgets}
                rowAttrs={(b) => ({ "data-budget": b.agentGroupId })}
                cells={(b) => [
                  b.agentGroupId,
                  left(b.tokens, String),
                  left(b.usd, usd),
                  b.changeId,
                ]}
              />
            </div>
          )}
        <p class="meta">
          The usage day ends at {props.resetsAt}; a spent budget refuses the agent's model calls until then.
        </p>
      </section>
      <section class="card" aria-labelledby="h-usage">
        <h2 id="h-usage">Model calls, the last {props.days} days</h2>
        {props.lines.length === 0
          ? <p>No model usage in the last {props.days} days.</p>
          : (
            <div class="table-wrap">
              <DataTable
                caption="Tokens and cost per agent, day and model, newest day first"
                headers={["Day", "Agent", "Model", "Calls", "Tokens in", "Tokens out", "Cost"]}
                rows={props.lines}
                rowAttrs={(l) => ({ "data-usage": `${l.agentGroupId} ${l.day} ${l.model}` })}
                cells={(
                  l,
                ) => [l.day, l.agentGroupId, l.model, l.calls, l.inputTokens, l.outputTokens, usd(l.costUsd)]}
              />
            </div>
          )}
        <p class="meta">
          Tokens as each provider reported them; cost at this host's price table (<code>
            serve --model-prices
          </code>).
        </p>
      </section>
    </Layout>
  );
}
