import assert from "node:assert/strict";
import type { McpRegisterPayload } from "../../contract/changes.ts";
import { McpConnections, mcpTransports, McpUnavailable } from "./mod.ts";

const SAMPLE = new URL("./sample/server.ts", import.meta.url).pathname;

function sampleConfig(extra: string[] = []): McpRegisterPayload {
  return {
    name: "sample",
    transport: "stdio",
    command: Deno.execPath(),
    args: ["run", "-A", SAMPLE, ...extra],
  };
}

Deno.test("the SDK client lists the sample server's three tools with hashes, calls one, and restarts it after it dies", async () => {
  const connections = new McpConnections(() => sampleConfig(), {
    transports: mcpTransports({ allowHostProcess: true }),
    limits: { callMs: 2_000 },
  });
  try {
    const tools = await connections.listTools("sample");
    assert.deepEqual(tools.map((t) => t.name), ["add", "echo", "slow"]);
    assert.ok(tools.every((t) => /^[0-9a-f]{64}$/.test(t.hash)));
    assert.deepEqual(tools[1].inputSchema.properties, {
      text: { type: "string", description: "what to repeat" },
    });
    const sum = await connections.callTool("sample", "add", { a: 2, b: 3 });
    assert.deepEqual(sum, { content: [{ type: "text", text: "5" }], isError: false });
    // A hung call is cut at the deadline, and the next call starts the server again.
    await assert.rejects(
      () => connections.callTool("sample", "slow", { ms: 60_000 }),
      (e) => e instanceof McpUnavailable && /timed out/i.test(e.message),
    );
    assert.deepEqual((await connections.callTool("sample", "echo", { text: "again" })).content, [
      { type: "text", text: "again" },
    ]);
  } finally {
    await connections.close();
  }
});

Deno.test("a stdio server with no sandbox here and no host-process flag is refused, with the fix", async () => {
  const connections = new McpConnections(() => sampleConfig(), { transports: mcpTransports() });
  await assert.rejects(
    () => connections.listTools("sample"),
    (e) => e instanceof McpUnavailable && e.message.includes("--mcp-allow-host-process"),
  );
});

Deno.test("a server registered anew (another environment) is restarted with its new registration at its next use", async () => {
  let config = sampleConfig(["--env-tool"]);
  config.env = { SAMPLE_MODE: "first" };
  const connections = new McpConnections(() => config, {
    transports: mcpTransports({ allowHostProcess: true }),
  });
  const mode = async () =>
    JSON.parse(
      (await connections.callTool("sample", "env", {})).content.map((c) => (c as { text: string }).text).join(
        "",
      ),
    ).SAMPLE_MODE;
  try {
    assert.equal(await mode(), "first");
    config = { ...config, env: { SAMPLE_MODE: "second" } };
    assert.equal(await mode(), "second");
  } finally {
    await connections.close();
  }
});
