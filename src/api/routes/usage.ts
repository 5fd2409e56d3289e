/**
 * Model usage per agent group and day (`ironclaw usage`): tokens in and out
 * as the upstreams reported them, and cost at the host's price table, with
 * each listed group's daily budget. Setting a budget is a gateway change
 * (`budget`, through `POST /v1/changes`).
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import { AgentGroupId } from "../../../contract/ids.ts";
import type { ControlPlane } from "../../control_plane/mod.ts";
import { routeGroup } from "../route_group.ts";
import { errorAnswers, jsonAnswer } from "../openapi.ts";

const UsageQuery = z.object({
  agent: AgentGroupId.optional(),
  days: z.coerce.number().int().min(1).max(366).default(7),
});
const UsageDayRow = z.object({
  agentGroupId: z.string(),
  day: z.string(),
  model: z.string(),
  calls: z.number(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  costUsd: z.number(),
});
const BudgetView = z.object({
  agentGroupId: z.string(),
  dailyTokens: z.number().nullable(),
  dailyUsd: z.number().nullable(),
  changeId: z.string(),
});
const UsageView = z.object({
  /** The usage day's offset from UTC, in minutes. */
  dayOffsetMinutes: z.number(),
  rows: z.array(UsageDayRow),
  budgets: z.array(BudgetView),
}).openapi("Usage");

const usage = createRoute({
  method: "get",
  path: "/v1/usage",
  summary: "Model tokens and cost per agent group, day and model, and the groups' daily budgets",
  request: { query: UsageQuery },
  responses: {
    200: jsonAnswer(UsageView, "the last `days` usage days, oldest first"),
    ...errorAnswers(400, 404),
  },
});

/** The last `days` usage days of one group (or all), oldest first, and the listed groups' budgets. */
export function usageReport(
  plane: ControlPlane,
  query: { agent?: string; days: number },
): z.infer<typeof UsageView> {
  const { agent, days } = query;
  const day = plane.usage.day;
  const rows = plane.usage.store.list({ sinceDay: day.recent(new Date(), days)[0], agentGroupId: agent })
    .map(({ costMicroUsd, ...row }) => ({ ...row, costUsd: costMicroUsd / 1e6 }));
  const groups = agent !== undefined ? [agent] : plane.registry.listAgentGroups().map((g) => g.id);
  const budgets = groups.flatMap((id) => {
    const budget = plane.usage.budgets?.get(id);
    return budget
      ? [{
        agentGroupId: id,
        dailyTokens: budget.dailyTokens ?? null,
        dailyUsd: budget.dailyMicroUsd === undefined ? null : budget.dailyMicroUsd / 1e6,
        changeId: budget.changeId,
      }]
      : [];
  });
  return { dayOffsetMinutes: day.offsetMinutes, rows, budgets };
}

/** The usage route. */
export function usageRoutes(plane: ControlPlane) {
  return routeGroup().openapi(usage, (c) => {
    const { agent, days } = c.req.valid("query");
    if (agent !== undefined) plane.registry.getAgentGroup(agent); // 404 for an unknown agent
    return c.json(usageReport(plane, { agent, days }), 200);
  });
}
