/**
 * What a change does, in lines an approver reads: tools added and removed,
 * persona lines taken out and put in, the agent a `create_agent` makes, the
 * host directories a `mounts` change shares (and how) or takes away; the
 * other kinds as their `before` and `after`. A request that silently drops
 * nine tools must look like one.
 *
 * @module
 */
import type { ChangeRequest } from "../../contract/gateway.ts";
import {
  CreateAgentPayload,
  createdAgentTools,
  EnabledToolsPayload,
  mountName,
  MountsPayload,
  PersonaPayload,
} from "../../contract/changes.ts";
import { effectiveTools, ToolName } from "../../contract/tools.ts";
import { PERSONA_SECTIONS } from "../catalog/mod.ts";

/** The readable diff of `req` (never empty). */
export function describeChangeDiff(req: Pick<ChangeRequest, "kind" | "before" | "after">): string[] {
  const lines = req.kind === "enabled_tools"
    ? toolsDiff(req.before, req.after)
    : req.kind === "persona"
    ? personaDiff(req.before, req.after)
    : req.kind === "create_agent"
    ? createAgentSummary(req.after)
    : req.kind === "delete_agent"
    ? deleteAgentSummary(req.before)
    : req.kind === "mounts"
    ? mountsDiff(req.after)
    : undefined;
  return lines ?? [`before: ${JSON.stringify(req.before)}`, `after:  ${JSON.stringify(req.after)}`];
}

const ALL_TOOLS: readonly string[] = ToolName.options;

/**
 * The tools an agent has before an `enabled_tools` change and would have
 * after it (mandatory tools included), and whether each side is
 * unrestricted (every built-in tool, now and future: `null` before, an
 * empty list after); undefined when `after` is not a tools payload.
 */
export function toolsBeforeAfter(
  before: unknown,
  after: unknown,
):
  | { old: readonly string[]; next: readonly string[]; unrestricted: { old: boolean; next: boolean } }
  | undefined {
  const payload = EnabledToolsPayload.safeParse(after);
  if (!payload.success) return undefined;
  const old = before === null ? ALL_TOOLS : effectiveTools(before as string[]);
  const p = payload.data;
  const wanted = Array.isArray(p) ? p : "tools" in p ? p.tools : before === null ? [] : [...old, ...p.add];
  // An empty list is no restriction: every built-in tool, now and future.
  return {
    old,
    next: effectiveTools(wanted),
    unrestricted: { old: before === null, next: wanted.length === 0 },
  };
}

function toolsDiff(before: unknown, after: unknown): string[] | undefined {
  const tools = toolsBeforeAfter(before, after);
  if (!tools) return undefined;
  const { old, next } = tools;
  const added = next.filter((t) => !old.includes(t));
  const removed = old.filter((t) => !next.includes(t));
  const lines = [];
  if (removed.length) lines.push(`tools removed (${removed.length}): ${removed.join(", ")}`);
  if (added.length) lines.push(`tools added (${added.length}): ${added.join(", ")}`);
  if (!lines.length) lines.push("tools unchanged");
  lines.push(
    `tools after: ${next.length === ALL_TOOLS.length ? "every built-in tool" : next.join(", ")}`,
  );
  return lines;
}

function personaDiff(before: unknown, after: unknown): string[] | undefined {
  const payload = PersonaPayload.safeParse(after);
  if (!payload.success) return undefined;
  const { persona, ...docs } = payload.data;
  const next: Record<string, string | undefined> = persona === undefined
    ? docs
    : { instructions: persona, ...docs };
  const old = (before ?? {}) as Record<string, string | undefined>;
  const lines: string[] = [];
  for (const section of PERSONA_SECTIONS) {
    if (!(section.key in next)) continue;
    const was = splitLines(old[section.key]);
    const now = splitLines(next[section.key]);
    const removed = was.filter((l) => !now.includes(l));
    const added = now.filter((l) => !was.includes(l));
    if (!removed.length && !added.length) continue;
    lines.push(`${section.filename}:`, ...removed.map((l) => `  - ${l}`), ...added.map((l) => `  + ${l}`));
  }
  return lines.length ? lines : ["persona unchanged"];
}

function createAgentSummary(after: unknown): string[] | undefined {
  const payload = CreateAgentPayload.safeParse(after);
  if (!payload.success) return undefined;
  const p = payload.data;
  return [
    `new agent: ${p.name}${
      p.provider || p.model ? ` (${[p.provider, p.model].filter(Boolean).join(" ")})` : ""
    }`,
    `tools: ${
      p.all_tools
        ? "ALL built-in tools, now and future"
        : effectiveTools(createdAgentTools(p) ?? []).join(", ")
    }`,
    `members: ${p.members?.join(", ") || "none"}`,
    `persona: ${
      PERSONA_SECTIONS.filter((s) => p.persona?.[s.key]).map((s) => s.filename).join(", ") || "none"
    }`,
    ...(p.wirings?.length ? [`wired to: ${p.wirings.map((w) => w.messagingGroupId).join(", ")}`] : []),
  ];
}

function deleteAgentSummary(before: unknown): string[] | undefined {
  const b = before as { name?: string; sessions?: number; wirings?: number; members?: string[] } | null;
  if (!b || typeof b.name !== "string") return undefined;
  return [
    `deletes agent: ${b.name}`,
    `with: ${b.sessions ?? 0} session(s) (sandboxes stopped, queues removed), ${b.wirings ?? 0} wiring(s), ` +
    `members ${b.members?.join(", ") || "none"}`,
    "kept aside on the host: its workspace and memory (never given to a new agent of the same id)",
  ];
}

function mountsDiff(after: unknown): string[] | undefined {
  const payload = MountsPayload.safeParse(after);
  if (!payload.success) return undefined;
  return payload.data.map((m) =>
    "remove" in m
      ? `unmount /mounts/${m.name}`
      : `mount ${m.source} at /mounts/${mountName(m)} (${m.readonly === false ? "READ-WRITE" : "read-only"})`
  );
}

function splitLines(text: string | undefined): string[] {
  return (text ?? "").split("\n").map((l) => l.trimEnd()).filter((l) => l.trim() !== "");
}
