import assert from "node:assert/strict";
import { runCli } from "./program.ts";
import { captureIo } from "./output.ts";
import { servedFakePlane } from "../tests/support/served_plane.ts";

Deno.test("status names the backend that runs the agents, and says so when it is no sandbox", async () => {
  // The fake isolator stands for the process backend: no sandbox at all.
  await using t = await servedFakePlane();
  const { server, flags } = t;
  const text = captureIo();
  assert.equal(await runCli(["status", ...flags], text), 0, text.stderr.join("\n"));
  assert.deepEqual(text.stdout, [
    `control plane: ${server.url} (version 0.1.0)`,
    "ready:         yes",
    "agents:        1",
    "pending:       0 changes awaiting approval",
    "sandbox:       isolator process (NO SANDBOX, weaker than runsc and bwrap; development only): " +
    "process as given",
    "key custody:   file (WEAK, development: the master key is plaintext beside the data; " +
    "`ironclaw keys protect` wraps it)",
    "models:        no model calls yet",
    "parked:        none",
    "mcp:           0 servers; stdio servers refused (stdio MCP servers run only in a runsc or bwrap sandbox, " +
    "and the agents' sandboxes here are process; start serve with --mcp-allow-host-process to run them as " +
    "host processes (weaker isolation))",
    "sandboxes:     0 live, 0 hibernated (idle, woken by their next message), 0 warm spare(s)",
  ]);

  const json = captureIo();
  assert.equal(await runCli(["status", "--json", ...flags], json), 0);
  const report = JSON.parse(json.stdout.join("\n"));
  assert.deepEqual(report.isolator, {
    kind: "process",
    strength: "none",
    weaker: true,
    label: "isolator process (NO SANDBOX, weaker than runsc and bwrap; development only): process as given",
  });
  assert.equal(report.isolatorError, null);
  assert.equal(report.keyCustody, "file");
  assert.deepEqual(report.sandboxes, { live: 0, hibernated: [], spares: 0 });

  const unauthorized = captureIo();
  const code = await runCli(
    ["status", "--api-url", server.url, "--state-dir", `${t.stateDir}/nowhere`],
    unauthorized,
  );
  assert.equal(code, 1, "without the token there is no status");
});
