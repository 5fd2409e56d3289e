import assert from "node:assert/strict";
import type { McpRegisterPayload } from "../../contract/changes.ts";
import { type ToolServerProcess, toolServerSandbox } from "../../isolator/mod.ts";
import { bundledProgram } from "../../tests/support/isolator_harness.ts";
import { McpConnections, mcpTransports, McpUnavailable } from "./mod.ts";

const SAMPLE = new URL("./sample/server.ts", import.meta.url).pathname;
const runscReady = Deno.uid() === 0 &&
  (await new Deno.Command("runsc", { args: ["--version"], stdout: "null", stderr: "null" }).output()
    .then((o) => o.success, () => false));

/** The sample server bundled into a directory the sandbox's uid may read (the registration's declared path). */
async function sampleBundle(): Promise<{ dir: string; file: string }> {
  const dir = Deno.makeTempDirSync({ prefix: "ironclaw-mcp-sample-" });
  Deno.chmodSync(dir, 0o755);
  const file = `${dir}/server.js`;
  Deno.copyFileSync(await bundledProgram(SAMPLE), file);
  Deno.chmodSync(file, 0o644);
  return { dir, file };
}

Deno.test({
  name: "the sample server in its own runsc sandbox lists and calls tools, sees only its own environment, " +
    "and a server killed mid-call is a clear error, then started again",
  ignore: !runscReady,
  async fn() {
    const bundle = await sampleBundle();
    Deno.env.set("ANTHROPIC_API_KEY", "sk-host-only");
    const stateDir = Deno.makeTempDirSync({ prefix: "ironclaw-mcp-runsc-" });
    const sandbox = toolServerSandbox("runsc", { stateDir });
    const started: ToolServerProcess[] = [];
    const config: McpRegisterPayload = {
      name: "sample",
      transport: "stdio",
      command: Deno.execPath(),
      args: ["run", "--allow-env", bundle.file, "--env-tool"],
      paths: [bundle.dir],
      env: { SAMPLE_GREETING: "hello" },
      envSecrets: { SAMPLE_TOKEN: "sample-token" },
    };
    const connections = new McpConnections(() => config, {
      transports: mcpTransports({
        sandbox: () =>
          Promise.resolve({
            ...sandbox,
            start: async (spec) => {
              const server = await sandbox.start(spec);
              started.push(server);
              return server;
            },
          }),
        secret: (name) => Promise.resolve(name === "sample-token" ? "s3cret-value" : undefined),
      }),
      limits: { connectMs: 120_000, callMs: 60_000 },
    });
    try {
      const tools = await connections.listTools("sample");
      assert.deepEqual(tools.map((t) => t.name), ["add", "echo", "env", "slow"]);
      assert.deepEqual((await connections.callTool("sample", "add", { a: 2, b: 3 })).content, [
        { type: "text", text: "5" },
      ]);
      // Exactly what the registration gives it: its values, its secret, PATH and HOME; nothing of the host's
      // (the model key this host holds included). Deno marks its own Node shim in the server's environment.
      const env = JSON.parse(
        (await connections.callTool("sample", "env", {})).content
          .map((c) => (c as { text: string }).text).join(""),
      );
      delete env.DENO_NODE_SHIM_ACTIVE;
      assert.deepEqual(Object.keys(env).sort(), ["HOME", "PATH", "SAMPLE_GREETING", "SAMPLE_TOKEN"]);
      assert.equal(env.SAMPLE_TOKEN, "s3cret-value");
      assert.equal(env.HOME, "/tmp");

      // Killed mid-call: the call fails with a clear error and the next one starts a fresh sandbox.
      // The expectation is attached before the kill: the call may fail while stop() is still under way.
      const slowFails = assert.rejects(
        connections.callTool("sample", "slow", { ms: 60_000 }),
        (e) =>
          e instanceof McpUnavailable &&
          /^sample: the server ended \(exited with code 137.*its log: \S+\.log\)\); it starts again on the next use$/
            .test(e.message),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      await started[0].stop();
      await slowFails;
      assert.deepEqual((await connections.callTool("sample", "echo", { text: "again" })).content, [
        { type: "text", text: "again" },
      ]);
      assert.equal(started.length, 2);
    } finally {
      await connections.close();
      await Promise.all(started.map((s) => s.exited));
      // Each server's OCI bundle went with it.
      assert.deepEqual([...Deno.readDirSync(`${stateDir}/bundles`)], []);
      Deno.removeSync(stateDir, { recursive: true });
      Deno.removeSync(bundle.dir, { recursive: true });
      Deno.env.delete("ANTHROPIC_API_KEY");
    }
  },
});

const nodeAndBwrap = Deno.uid() === 0 &&
  (await Promise.all(
    ["node", "bwrap"].map((binary) =>
      new Deno.Command(binary, { args: ["--version"], stdout: "null", stderr: "null" }).output()
        .then((o) => o.success, () => false)
    ),
  )).every(Boolean);

Deno.test({
  name:
    "a Node server written with the SDK, registered as --command node with its files as --path, runs in its own bwrap sandbox",
  ignore: !nodeAndBwrap,
  async fn() {
    const modules = Deno.realPathSync(new URL("../../node_modules", import.meta.url).pathname);
    const dir = Deno.makeTempDirSync({ prefix: "ironclaw-mcp-node-" });
    const stateDir = Deno.makeTempDirSync({ prefix: "ironclaw-mcp-bwrap-" });
    Deno.chmodSync(dir, 0o755);
    Deno.writeTextFileSync(
      `${dir}/server.mjs`,
      `import { McpServer } from "${modules}/@modelcontextprotocol/sdk/dist/esm/server/mcp.js";
import { StdioServerTransport } from "${modules}/@modelcontextprotocol/sdk/dist/esm/server/stdio.js";
import { z } from "${modules}/zod/index.js";
const server = new McpServer({ name: "node-sample", version: "1.0.0" });
server.registerTool("shout", { description: "Upper-cases text.", inputSchema: { text: z.string() } },
  ({ text }) => ({ content: [{ type: "text", text: text.toUpperCase() }] }));
await server.connect(new StdioServerTransport());
`,
      { mode: 0o644 },
    );
    const connections = new McpConnections(() => ({
      name: "node",
      transport: "stdio",
      command: "node",
      args: [`${dir}/server.mjs`],
      paths: [dir, modules],
    }), {
      transports: mcpTransports({ sandbox: () => Promise.resolve(toolServerSandbox("bwrap", { stateDir })) }),
    });
    try {
      assert.deepEqual((await connections.listTools("node")).map((t) => t.name), ["shout"]);
      assert.deepEqual((await connections.callTool("node", "shout", { text: "hi" })).content, [
        { type: "text", text: "HI" },
      ]);
    } finally {
      await connections.close();
      Deno.removeSync(dir, { recursive: true });
      Deno.removeSync(stateDir, { recursive: true });
    }
  },
});
