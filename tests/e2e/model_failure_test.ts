/**
 * A model that fails is not silent (#14 item 2). The control plane's
 * Anthropic upstream is a local fake answering 401 the way the real API does;
 * the agent's call through the host's model proxy fails, and the proxy (not
 * the sandbox) names the cause: the chat gets one plain notice, and `status`
 * shows the host failing with that cause.
 */
import assert from "node:assert/strict";
import { describeStatus, gatherStatus } from "../../cli/status.ts";
import { ApiClient } from "../../cli/client.ts";
import { checkModels } from "../../cli/doctor.ts";
import { CONSOLE_USER_ID } from "../../src/control_plane/mod.ts";
import { answered } from "../support/api.ts";
import { tempDir } from "../support/mod.ts";
import { collectReplies, E2E_TOKEN, openPlane } from "./plane.ts";

const AGENT = "claude";
const NOTICE =
  "model call failed: 401 from api.anthropic.com — is ANTHROPIC_API_KEY set for the control plane? " +
  "Your message is kept and will be answered once the model works.";

/** A local stand-in for api.anthropic.com that refuses every key, as the Messages API does. */
function refusingAnthropic() {
  let calls = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    calls++;
    await req.body?.cancel();
    return Response.json(
      { type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } },
      { status: 401, headers: { "request-id": "req_fake" } },
    );
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, calls: () => calls, close: () => server.shutdown() };
}

Deno.test("e2e (process backend): a 401 from the model's upstream reaches the chat as one plain notice, and status shows it", async () => {
  const upstream = refusingAnthropic();
  using dir = tempDir("ironclaw-e2e-");
  try {
    await using host = await openPlane(dir.path, {
      isolator: "process",
      credentials: (h) => h === "api.anthropic.com" ? "sk-ant-wrong" : undefined,
      upstreams: [{ host: "api.anthropic.com", baseUrl: upstream.url }],
    });
    host.plane.registry.putAgentGroup({ id: AGENT, name: "Claude agent", provider: "anthropic" });
    host.plane.registry.addMember(CONSOLE_USER_ID, AGENT);
    const sent = await answered(
      host.api.v1.ui.chat.send.$post({ json: { agentGroupId: AGENT, text: "hello" } }),
    );
    assert.equal(sent.status, 202, JSON.stringify(sent.body));

    const replies = await collectReplies(host, sent.body.chatId, (r) => r.length > 0);
    assert.deepEqual(replies, [NOTICE]);
    assert.ok(upstream.calls() >= 1, "the call reached the upstream");

    const client = new ApiClient(host.server.url, E2E_TOKEN);
    const report = await gatherStatus(client);
    const anthropic = report.providers.find((p) => p.host === "api.anthropic.com");
    assert.equal(anthropic?.failing, true);
    assert.equal(anthropic?.lastError?.status, 401);
    const line = describeStatus(report).find((l) => l.includes("api.anthropic.com"));
    assert.match(
      line ?? "",
      /api\.anthropic\.com FAILING \(\d+ in a row\), \d+ calls, \d+ errors; last error .*: 401 from/,
    );
    assert.deepEqual(report.parked, []);

    const doctor = await checkModels(client);
    assert.equal(doctor?.ok, false, "doctor goes red");
    assert.match(doctor?.detail ?? "", /api\.anthropic\.com failing: 401 from api\.anthropic\.com/);

    const metrics = await fetch(`${host.server.url}/metrics`, {
      headers: { authorization: `Bearer ${E2E_TOKEN}` },
    });
    assert.match(
      await metrics.text(),
      /^ironclaw_model_call_errors_total\{host="api.anthropic.com",status="401"\} [1-9]/m,
    );
  } finally {
    await upstream.close();
  }
});
