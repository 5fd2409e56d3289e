import assert from "node:assert/strict";
import { tempDir } from "../tests/support/mod.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";
import { agentExecutableOption } from "./serve.ts";

/** Runs `fn` with `$IRONCLAW_AGENT_PROGRAM` set to `value` (or unset), then restores it. */
async function withAgentEnv<T>(value: string | undefined, fn: () => T | Promise<T>): Promise<T> {
  const before = Deno.env.get("IRONCLAW_AGENT_PROGRAM");
  if (value === undefined) Deno.env.delete("IRONCLAW_AGENT_PROGRAM");
  else Deno.env.set("IRONCLAW_AGENT_PROGRAM", value);
  try {
    return await fn();
  } finally {
    if (before === undefined) Deno.env.delete("IRONCLAW_AGENT_PROGRAM");
    else Deno.env.set("IRONCLAW_AGENT_PROGRAM", before);
  }
}

Deno.test("--agent-program, else $IRONCLAW_AGENT_PROGRAM, names the compiled agent; neither leaves the default", async () => {
  await withAgentEnv("/env/ironclaw-agent", () => {
    assert.deepEqual(agentExecutableOption({ agentProgram: "/flag/ironclaw-agent" }), {
      agentExecutable: "/flag/ironclaw-agent",
      agentExecutableFrom: "--agent-program",
    });
    assert.deepEqual(agentExecutableOption({}), {
      agentExecutable: "/env/ironclaw-agent",
      agentExecutableFrom: "$IRONCLAW_AGENT_PROGRAM",
    });
  });
  await withAgentEnv(undefined, () => assert.deepEqual(agentExecutableOption({}), {}));
});

Deno.test("serve with a missing agent executable fails in one line before touching the state directory", async () => {
  using dir = tempDir();
  const stateDir = `${dir.path}/s`;
  const missing = `${dir.path}/nowhere/ironclaw-agent`;
  const io = captureIo();
  assert.equal(await runCli(["serve", "--state-dir", stateDir, "--agent-program", missing], io), 1);
  assert.deepEqual(io.stderr, [`ironclaw: agent program ${missing} (--agent-program) does not exist`]);
  await withAgentEnv(missing, async () => {
    const viaEnv = captureIo();
    assert.equal(await runCli(["serve", "--state-dir", stateDir], viaEnv), 1);
    assert.deepEqual(viaEnv.stderr, [
      `ironclaw: agent program ${missing} ($IRONCLAW_AGENT_PROGRAM) does not exist`,
    ]);
  });
  assert.throws(() => Deno.statSync(stateDir), Deno.errors.NotFound);
});

Deno.test("serve --dev --isolator process refuses a compiled agent: its flags fit only the sandboxes", async () => {
  using dir = tempDir();
  const exe = `${dir.path}/ironclaw-agent`;
  Deno.writeFileSync(exe, new Uint8Array([0x7f, 0x45, 0x4c, 0x46]));
  Deno.chmodSync(exe, 0o755);
  const io = captureIo();
  const args = [
    "serve",
    "--dev",
    "--isolator",
    "process",
    "--state-dir",
    `${dir.path}/s`,
    "--agent-program",
    exe,
  ];
  assert.equal(await runCli([...args, "--api-addr", "127.0.0.1:0"], io), 1);
  assert.equal(io.stderr.length, 1, io.stderr.join("\n"));
  assert.match(
    io.stderr[0],
    /^ironclaw: isolator process is unavailable: .*the process backend cannot run the compiled agent .*ironclaw-agent: its permission flags are baked in for the sandbox layout/,
  );
});
