import assert from "node:assert/strict";
import { tempDir } from "../tests/support/mod.ts";
import { buildAgentProposal, describeProposal, parseTools } from "./agent_proposal.ts";
import { CLEAR_ANSWER, type Prompter, runAgentWizard, validateAgentName } from "./agent_wizard.ts";
import { readPersonaDir } from "./files.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";
import { closedPortUrl, servedFakePlane } from "../tests/support/served_plane.ts";
import { DEMO_AGENT_ID } from "../src/control_plane/mod.ts";

Deno.test("a proposal lays flags over the template and derives the id", () => {
  const p = buildAgentProposal({
    name: "Night Shift",
    template: "reminders",
    tools: ["read_file"],
    persona: { soul: "Gentle.", instructions: "" },
    model: "claude-x",
  });
  assert.equal(p.agentGroupId, "night-shift");
  assert.equal(p.payload.name, "Night Shift");
  assert.equal(p.payload.model, "claude-x");
  // Union of the template's tools and the flag's, in catalog order.
  assert.deepEqual(p.payload.enabled_tools, [
    "read_file",
    "send_message",
    "schedule_task",
    "list_tasks",
    "cancel_task",
    "pause_task",
    "resume_task",
    "update_task",
  ]);
  // The template's identity stays, soul is replaced, the emptied instructions are dropped.
  assert.deepEqual(Object.keys(p.payload.persona!), ["identity", "soul"]);
  assert.equal(p.payload.persona!.soul, "Gentle.");
  assert.match(describeProposal(p).join("\n"), /request_capability_change/);
});

Deno.test("a bare agent gets the least-privilege tools; every tool only with --all-tools, shown as such", () => {
  const p = buildAgentProposal({ name: "plain", folder: "plain-1" });
  assert.equal(p.agentGroupId, "plain-1");
  assert.deepEqual(p.payload.enabled_tools, ["read_file", "write_file", "list_dir", "send_message"]);
  assert.equal(p.payload.persona, undefined);
  assert.match(
    describeProposal(p).join("\n"),
    /^tools: {3}read_file, write_file, list_dir, send_message, request_capability_change, ask_user_question$/m,
  );
  const all = buildAgentProposal({ name: "wide", allTools: true });
  assert.equal(all.payload.enabled_tools, undefined);
  assert.equal(
    all.payload.all_tools,
    true,
    "every tool is asked for explicitly: the host gives a bare payload the least",
  );
  assert.match(
    describeProposal(all).join("\n"),
    /^tools: {3}ALL built-in tools, now and future \(--all-tools\)$/m,
  );
  assert.throws(
    () => buildAgentProposal({ name: "x", allTools: true, tools: ["read_file"] }),
    /--all-tools and --tools exclude each other/,
  );
});

Deno.test("unknown tools and templates, and bad names, are refused with one line", () => {
  assert.throws(
    () => parseTools(["read_file", "rm_rf", "sudo"]),
    /^CliError: unknown tools rm_rf, sudo: see/,
  );
  assert.throws(() => buildAgentProposal({ name: "x", template: "wizard" }), /unknown template "wizard"/);
  assert.throws(() => buildAgentProposal({ name: "../etc" }), /invalid agent: name: /);
  assert.throws(
    () => buildAgentProposal({ name: "x", persona: { soul: "é".repeat(2000) } }),
    /invalid agent: persona\.soul: /,
  );
  assert.equal(validateAgentName("  "), "a name is required");
  assert.equal(validateAgentName("Ops bot"), true);
});

Deno.test("a persona directory is read trimmed; missing files are skipped", async () => {
  using dir = tempDir();
  Deno.writeTextFileSync(`${dir.path}/IDENTITY.md`, "\n  You are Ops.  \n");
  Deno.writeTextFileSync(`${dir.path}/AGENTS.md`, "Be brief.");
  assert.deepEqual(await readPersonaDir(dir.path), { identity: "You are Ops.", instructions: "Be brief." });
});

Deno.test("a persona directory may not lead outside itself or hold unfit files", async () => {
  using dir = tempDir();
  using outside = tempDir();
  Deno.writeTextFileSync(`${outside.path}/secret`, "host secret");
  Deno.mkdirSync(`${dir.path}/p`);
  Deno.symlinkSync(`${outside.path}/secret`, `${dir.path}/p/SOUL.md`);
  await assert.rejects(readPersonaDir(`${dir.path}/p`), /SOUL\.md leads outside the persona directory/);

  Deno.removeSync(`${dir.path}/p/SOUL.md`);
  Deno.symlinkSync(`../../${outside.path.split("/").pop()}/gone`, `${dir.path}/p/SOUL.md`);
  await assert.rejects(readPersonaDir(`${dir.path}/p`), /link to a file that does not exist/);

  Deno.removeSync(`${dir.path}/p/SOUL.md`);
  Deno.writeTextFileSync(`${dir.path}/p/SOUL.md`, "x".repeat(2049));
  await assert.rejects(readPersonaDir(`${dir.path}/p`), /larger than 2048 bytes/);

  Deno.removeSync(`${dir.path}/p/SOUL.md`);
  Deno.mkdirSync(`${dir.path}/p/SOUL.md`);
  await assert.rejects(readPersonaDir(`${dir.path}/p`), /is not a regular file/);

  await assert.rejects(readPersonaDir(`${dir.path}/none`), /--persona-dir .* does not exist/);
  Deno.writeTextFileSync(`${dir.path}/file`, "");
  await assert.rejects(readPersonaDir(`${dir.path}/file`), /is not a directory/);

  if (Deno.uid() !== 0) {
    Deno.removeSync(`${dir.path}/p/SOUL.md`);
    Deno.writeTextFileSync(`${dir.path}/p/SOUL.md`, "hidden", { mode: 0o000 });
    Deno.chmodSync(`${dir.path}/p/SOUL.md`, 0o000);
    await assert.rejects(readPersonaDir(`${dir.path}/p`), /not readable/);
  }
});

Deno.test("agent create refuses an unfit persona directory before contacting the API", async () => {
  using dir = tempDir();
  Deno.writeTextFileSync(`${dir.path}/AGENTS.md`, "y".repeat(5000));
  const io = captureIo();
  const code = await runCli(
    ["agent", "create", "--name", "ops", "--persona-dir", dir.path, "--api-url", closedPortUrl()],
    io,
  );
  assert.equal(code, 1);
  assert.deepEqual(io.stderr, [
    `ironclaw: persona document ${Deno.realPathSync(dir.path)}/AGENTS.md is larger than 2048 bytes`,
  ]);
});

Deno.test("without flags and without a terminal, agent create asks for --name", async () => {
  const io = captureIo(false);
  assert.equal(await runCli(["agent", "create"], io), 1);
  assert.match(io.stderr[0], /--name is required/);
});

/** A prompter answering from a script, recording the questions. */
function scripted(answers: unknown[]): Prompter & { asked: string[] } {
  const asked: string[] = [];
  const next = <T>(message: string, validate?: (v: string) => true | string): Promise<T> => {
    asked.push(message);
    const answer = answers.shift();
    if (validate && validate(answer as string) !== true) throw new Error(`invalid answer ${answer}`);
    return Promise.resolve(answer as T);
  };
  return {
    asked,
    input: (q) =>
      next(q.message, q.validate).then((a) => (a as string) === "" && q.default ? q.default : a as string),
    select: <T>(q: { message: string; choices: { value: T; name: string }[] }) =>
      next<string>(q.message).then((id) => q.choices.find((c) => c.name.includes(`(${id})`))!.value),
    checkbox: (q) => next(q.message),
    confirm: (q) => next(q.message),
  };
}

Deno.test("the wizard builds the same proposal the flags would", async () => {
  const io = captureIo(true);
  const prompter = scripted([
    "Research Bot", // name
    "researcher", // template
    "", // identity: keep the template's
    CLEAR_ANSWER, // soul: clear
    "Cite sources.", // instructions
    "", // model: default
    false, // not every tool
    ["read_file", "list_dir"], // tools
    true, // confirm
  ]);
  const proposal = await runAgentWizard(io, prompter);
  assert.ok(proposal);
  assert.equal(proposal.agentGroupId, "research-bot");
  assert.deepEqual(proposal.payload.enabled_tools, ["read_file", "list_dir"]);
  assert.deepEqual(proposal.payload.persona, {
    identity: "You are a careful research assistant.",
    instructions: "Cite sources.",
  });
  assert.equal(proposal.payload.model, undefined);
  assert.ok(io.stdout.includes("→ id: research-bot"));
  assert.equal(prompter.asked.length, 9);

  const declined = await runAgentWizard(
    captureIo(true),
    scripted(["x", "blank", "", "", "", "", false, [], false]),
  );
  assert.equal(declined, undefined);
  // None selected is the least-privilege set; every tool is its own explicit answer.
  const none = await runAgentWizard(
    captureIo(true),
    scripted(["x", "blank", "", "", "", "", false, [], true]),
  );
  assert.deepEqual(none?.payload.enabled_tools, ["read_file", "write_file", "list_dir", "send_message"]);
  const all = await runAgentWizard(captureIo(true), scripted(["x", "blank", "", "", "", "", true, true]));
  assert.equal(all?.payload.enabled_tools, undefined);
});

Deno.test("an unknown provider is refused at submit, by the gateway and by the registry API, naming the known ones", async () => {
  await using t = await servedFakePlane();
  const known = /unknown provider "gemini": the known providers are anthropic, openai, openrouter, mock/;
  const created = captureIo();
  assert.equal(
    await runCli(["agent", "create", "--name", "Gem", "--provider", "gemini", ...t.flags], created),
    1,
  );
  assert.match(created.stderr.join("\n"), /rejected by a verifier/);
  assert.match(created.stderr.join("\n"), known);
  assert.deepEqual(t.plane.changes.pending(), []);

  const put = captureIo();
  const args = ["registry", "put-agent-group", "gem", "--name", "Gem", "--provider", "gemini", ...t.flags];
  assert.equal(await runCli(args, put), 1);
  assert.match(put.stderr.join("\n"), known);
  assert.throws(() => t.plane.registry.getAgentGroup("gem"));
});

Deno.test("agent show names the memory partition; a permissions change through the gateway sets it and restarts the sandbox", async () => {
  await using t = await servedFakePlane();
  const cli = async (...args: string[]) => {
    const io = captureIo();
    assert.equal(await runCli([...args, ...t.flags], io), 0, io.stderr.join("\n"));
    return io.stdout.join("\n");
  };
  const sent = await t.plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "hello" });
  const sessionId = sent.outcomes[0].sessionId!;
  await t.plane.waker.settled(); // the send answered before its sandbox started
  assert.match(await cli("agent", "show", DEMO_AGENT_ID), /^memory: +group: every conversation shares one/m);
  const [before] = t.isolator.of(sessionId);

  const change = JSON.parse(
    await cli(
      "change",
      "submit",
      "--kind",
      "permissions",
      "--agent",
      DEMO_AGENT_ID,
      "--after",
      '{"memoryPartition":"session"}',
      "--json",
    ),
  );
  await cli("change", "approve", change.request.id);
  const shown = JSON.parse(await cli("agent", "show", DEMO_AGENT_ID, "--json"));
  assert.equal(shown.memoryPartition, "session");
  assert.equal(shown.memoryPartitionChosen, true);
  assert.match(
    await cli("agent", "show", DEMO_AGENT_ID),
    /^memory: +session: one \/memory per conversation$/m,
  );
  const after = t.isolator.of(sessionId).at(-1)!;
  assert.ok(before.stopped);
  assert.notEqual(after.spec.memoryDir, before.spec.memoryDir);
  assert.match(
    after.spec.memoryDir,
    new RegExp(`/partitioned-memory/${DEMO_AGENT_ID}/session/${sessionId}$`),
  );
});
