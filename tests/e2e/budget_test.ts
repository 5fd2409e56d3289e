/**
 * A daily budget under real runsc: approved through the gateway, spent by a
 * turn, the next turn refused with the budget notice in the chat; the
 * counter survives a host restart and `ironclaw usage --json` shows it.
 */
import assert from "node:assert/strict";
import { DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { answered, sentSession } from "../support/api.ts";
import { tempDir } from "../support/mod.ts";
import { approveChange, backendWorks, nextReplies, runIronclaw } from "./harness.ts";
import { openPlane } from "./plane.ts";

Deno.test({
  name: "budget: a spent daily budget refuses the next turn in the chat and survives a restart (runsc)",
  ignore: !(await backendWorks("runsc")),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    using dir = tempDir("ironclaw-e2e-budget-");
    let sessionId: string;
    let spent: { inputTokens: number; outputTokens: number };
    {
      await using host = await openPlane(dir.path, { isolator: "runsc" });
      const proposed = await answered(host.api.v1.changes.$post({
        json: {
          kind: "budget",
          agentGroupId: DEMO_AGENT_ID,
          requestedBy: "test:op",
          after: { dailyTokens: 1 },
        },
      }));
      assert.equal(proposed.status, 202, JSON.stringify(proposed.body));
      await approveChange(host, proposed.body.request.id);

      const send = (text: string) =>
        answered(host.api.v1.ui.chat.send.$post({ json: { agentGroupId: DEMO_AGENT_ID, text } }));
      const first = await send("hello there");
      assert.equal(first.status, 202, JSON.stringify(first.body));
      if (first.status !== 202) return;
      sessionId = sentSession(first.body);
      assert.deepEqual(await nextReplies(host, DEMO_AGENT_ID), ["mock-agent received: hello there"]);
      await send("and again");
      const [notice] = await nextReplies(host, DEMO_AGENT_ID);
      assert.match(
        notice,
        /^The daily model budget of agent demo is spent: \d+ of its 1 tokens today\. It resets at /,
      );
      const day = host.plane.usage.day.of(new Date());
      spent = host.plane.usage.store.totals(DEMO_AGENT_ID, day);
      assert.ok(spent.inputTokens > 0 && spent.outputTokens > 0, JSON.stringify(spent));
      assert.match(
        host.plane.metrics.render(),
        /ironclaw_model_budget_refusals_total\{agent_group="demo"\} 1/,
      );
    }
    await using again = await openPlane(dir.path, { isolator: "runsc" });
    assert.match(again.plane.usage.refusal(sessionId as never) ?? "", /budget of agent demo is spent/);
    const cli = await runIronclaw(again, ["usage", "--agent", DEMO_AGENT_ID, "--days", "1", "--json"]);
    assert.equal(cli.code, 0, cli.stderr);
    const usage = JSON.parse(cli.stdout);
    assert.deepEqual(
      usage.rows.map((r: { inputTokens: number; outputTokens: number }) => [r.inputTokens, r.outputTokens]),
      [[spent.inputTokens, spent.outputTokens]],
    );
    assert.equal(usage.budgets[0].dailyTokens, 1);
  },
});
