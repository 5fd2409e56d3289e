import assert from "node:assert/strict";
import type { OfferedTool } from "./offered_tools.ts";
import { McpConnections, McpOffers, mcpTransports } from "./mod.ts";

const SAMPLE = new URL("./sample/server.ts", import.meta.url).pathname;

Deno.test("a grant's offer records the tools it names as the server offers them now; unknown tools and an unreachable server are refused with why", async () => {
  const recorded: [string, string, string[]][] = [];
  const connections = new McpConnections(
    (name) =>
      name === "sample"
        ? { name, transport: "stdio", command: Deno.execPath(), args: ["run", "-A", SAMPLE] }
        : { name, transport: "stdio", command: "/nonexistent/mcp-server" },
    { transports: mcpTransports({ allowHostProcess: true }), limits: { connectMs: 5_000 } },
  );
  const offers = new McpOffers({
    catalog: { has: () => true },
    connections,
    pins: {
      recordOffer: (id: string, server: string, tools: readonly OfferedTool[]) =>
        void recorded.push([id, server, tools.map((t) => t.name)]),
    },
  });
  try {
    assert.equal(await offers.recordOffer("chg_1", { server: "sample", tools: ["echo", "slow"] }), undefined);
    assert.equal(await offers.recordOffer("chg_2", { server: "sample" }), undefined);
    assert.equal(
      await offers.recordOffer("chg_3", { server: "sample", tools: ["echo", "rm_rf"] }),
      "sample offers no rm_rf (it offers add, echo, slow)",
    );
    assert.match(
      (await offers.recordOffer("chg_4", { server: "broken" }))!,
      /^broken could not be asked for its tools, so they cannot be shown for approval: /,
    );
    assert.deepEqual(recorded, [
      ["chg_1", "sample", ["echo", "slow"]],
      ["chg_2", "sample", ["add", "echo", "slow"]],
    ]);
  } finally {
    await connections.close();
  }
});
