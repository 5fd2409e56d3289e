import assert from "node:assert/strict";
import { tempDir } from "../../tests/support/mod.ts";
import { AGENT_SOURCE, AgentProgram, AgentProgramError } from "./agent_program.ts";

/** A release directory: `ironclaw` and, unless `withAgent` is false, `ironclaw-agent` (mode `mode`). */
function release(dir: string, { withAgent = true, mode = 0o755 } = {}): { host: string; agent: string } {
  const host = `${dir}/ironclaw`;
  const agent = `${dir}/ironclaw-agent`;
  Deno.writeFileSync(host, new Uint8Array([0x7f, 0x45, 0x4c, 0x46]), { mode: 0o755 });
  if (withAgent) {
    Deno.writeFileSync(agent, new Uint8Array([0x7f, 0x45, 0x4c, 0x46]));
    Deno.chmodSync(agent, mode);
  }
  return { host, agent };
}

Deno.test("from source with nothing named, the agent is bundled with deno and run by deno run", () => {
  using dir = tempDir();
  const program = new AgentProgram({ buildDir: `${dir.path}/build`, standalone: false });
  assert.equal(program.kind, "bundle");
  assert.equal(program.executable, undefined);
  assert.ok(program.description.startsWith(`${AGENT_SOURCE} bundled with `), program.description);
  assert.match(program.description, /run by deno run with the contract's flags$/);
});

Deno.test("a compiled host runs the ironclaw-agent beside its own executable, directly", async () => {
  using dir = tempDir();
  const { host, agent } = release(dir.path);
  const program = new AgentProgram({ buildDir: `${dir.path}/build`, standalone: true, hostExecutable: host });
  assert.equal(program.kind, "executable");
  assert.equal(program.executable, agent);
  assert.equal(program.description, `${agent} (the compiled agent, run directly; found beside ${host})`);
  assert.equal(await program.path(), agent);
  // Checked again at each resolution: gone since the start is an error, not a launch of nothing.
  const again = new AgentProgram({ buildDir: `${dir.path}/build`, standalone: true, hostExecutable: host });
  Deno.removeSync(agent);
  await assert.rejects(again.path(), AgentProgramError);
});

Deno.test("a compiled host without its agent fails in one line: where it looked, how to name another", () => {
  using dir = tempDir();
  const { host, agent } = release(dir.path, { withAgent: false });
  assert.throws(
    () => new AgentProgram({ buildDir: `${dir.path}/build`, standalone: true, hostExecutable: host }),
    new AgentProgramError(
      `ironclaw-agent not found: looked for ${agent} beside ${host}; install the release's ironclaw-agent ` +
        "there, or name it with serve --agent-program PATH or $IRONCLAW_AGENT_PROGRAM",
    ),
  );
});

Deno.test("a named executable wins, from source too; it must be a file everyone may read and run", () => {
  using dir = tempDir();
  const { host } = release(dir.path, { withAgent: false });
  Deno.mkdirSync(`${dir.path}/other`);
  const { agent } = release(`${dir.path}/other`);
  const named = (executable: string, standalone: boolean) =>
    new AgentProgram({
      buildDir: `${dir.path}/build`,
      executable,
      executableFrom: "--agent-program",
      standalone,
      hostExecutable: host,
    });
  for (const standalone of [true, false]) {
    const program = named(agent, standalone);
    assert.equal(program.kind, "executable");
    assert.equal(program.executable, agent);
    assert.equal(program.description, `${agent} (the compiled agent, run directly; --agent-program)`);
  }
  // A relative name is made absolute: the sandboxes bind it by path.
  const cwd = Deno.cwd();
  try {
    Deno.chdir(dir.path);
    assert.equal(named("other/ironclaw-agent", true).executable, agent);
  } finally {
    Deno.chdir(cwd);
  }
  assert.throws(
    () => named(`${dir.path}/missing`, true),
    new AgentProgramError(`agent program ${dir.path}/missing (--agent-program) does not exist`),
  );
  assert.throws(() => named(`${dir.path}/other`, false), /\(--agent-program\) is not a file/);
  Deno.chmodSync(agent, 0o750);
  assert.throws(
    () => named(agent, true),
    /must be readable and executable by everyone, since the sandbox's uid runs it: chmod 755 /,
  );
});

Deno.test("a compiled host has no Deno to run a bundle with, and says so", () => {
  using dir = tempDir();
  const { host } = release(dir.path);
  assert.throws(
    () =>
      new AgentProgram({
        buildDir: `${dir.path}/build`,
        program: `${dir.path}/agent.js`,
        standalone: true,
        hostExecutable: host,
      }),
    /this ironclaw is compiled and has no Deno to run the agent bundle .*agent\.js with/,
  );
});
