import assert from "node:assert/strict";
import { startApiServer } from "../src/api/mod.ts";
import { resolveApiToken } from "../src/control_plane/mod.ts";
import { openFakeSandboxPlane } from "../src/control_plane/testing.ts";
import { runCli } from "./program.ts";
import { captureIo } from "./output.ts";

Deno.test("status names the backend that runs the agents, and says so when it is no sandbox", async () => {
  // The fake isolator stands for the process backend: no sandbox at all.
  await using t = await openFakeSandboxPlane();
  const { token } = await resolveApiToken(t.stateDir, undefined);
  const server = startApiServer(t.plane, { token, hostname: "127.0.0.1", port: 0 });
  try {
    const flags = ["--api-url", server.url, "--state-dir", t.stateDir];
    const text = captureIo();
    assert.equal(await runCli(["status", ...flags], text), 0, text.stderr.join("\n"));
    assert.deepEqual(text.stdout, [
      `control plane: ${server.url} (version 0.1.0)`,
      "ready:         yes",
      "agents:        1",
      "pending:       0 changes awaiting approval",
      "sandbox:       isolator process (NO SANDBOX, weaker than runsc and bwrap; development only): " +
      "process as given",
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

    const unauthorized = captureIo();
    const code = await runCli(
      ["status", "--api-url", server.url, "--state-dir", `${t.stateDir}/nowhere`],
      unauthorized,
    );
    assert.equal(code, 1, "without the token there is no status");
  } finally {
    await server.shutdown();
  }
});
