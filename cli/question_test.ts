import assert from "node:assert/strict";
import { DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import { runCli } from "./program.ts";
import { captureIo } from "./output.ts";
import { servedFakePlane } from "../tests/support/served_plane.ts";

Deno.test("question list shows open questions; question answer hands the answer over", async () => {
  await using t = await servedFakePlane();
  const { flags } = t;
  const empty = captureIo();
  assert.equal(await runCli(["question", "list", ...flags], empty), 0);
  assert.deepEqual(empty.stdout, ["No open questions."]);

  const sent = await t.plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "hello" });
  t.plane.questions.record({
    id: "q_7",
    sessionId: sent.outcomes[0].sessionId!,
    agentGroupId: DEMO_AGENT_ID,
    question: "Deploy now?",
    options: ["yes", "no"],
    allowFreeform: true,
  });
  const list = captureIo();
  assert.equal(await runCli(["question", "list", ...flags], list), 0);
  assert.match(list.stdout[0], /^ID\s+AGENT\s+AGE\s+QUESTION\s+ANSWERS$/);
  assert.match(list.stdout[1], /^q_7\s+demo\s+\d+s\s+Deploy now\?\s+yes \| no \| \(or free text\)$/);
  const json = captureIo();
  assert.equal(await runCli(["question", "list", "--json", ...flags], json), 0);
  assert.equal(JSON.parse(json.stdout.join("\n"))[0].question, "Deploy now?");

  const answer = captureIo();
  const code = await runCli(
    ["question", "answer", "q_7", "not", "yet", "--by", "me", ...flags],
    answer,
  );
  assert.equal(code, 0, answer.stderr.join("\n"));
  assert.deepEqual(answer.stdout, ['answered q_7: "not yet"; demo is told']);
  assert.equal(t.plane.questions.get("q_7").answeredBy, "me");

  const unknown = captureIo();
  assert.equal(await runCli(["question", "answer", "q_nope", "yes", ...flags], unknown), 1);
  assert.match(unknown.stderr[0], /^ironclaw: question "q_nope" not found$/);
});

/** Any control character a terminal acts on (tab and newline are text). */
const TERMINAL_CONTROL = /(?![\t\n])\p{Cc}/u;

Deno.test("agent text cannot drive the terminal: controls in a question print as visible escapes", async () => {
  await using t = await servedFakePlane();
  const sent = await t.plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "hello" });
  const question = "Deploy?\x1b[2J\x1b]52;c;cHduZWQ=\x07\rforged";
  t.plane.questions.record({
    id: "q_esc",
    sessionId: sent.outcomes[0].sessionId!,
    agentGroupId: DEMO_AGENT_ID,
    question,
    options: ["\x9b31myes"],
    allowFreeform: false,
  });
  const list = captureIo();
  assert.equal(await runCli(["question", "list", ...t.flags], list), 0);
  const printed = list.stdout.join("\n");
  assert.doesNotMatch(printed, TERMINAL_CONTROL);
  assert.match(printed, /Deploy\?\\u001b\[2J\\u001b\]52;c;cHduZWQ=\\u0007 forged/);
  assert.match(printed, /\\u009b31myes/);
  const json = captureIo();
  assert.equal(await runCli(["question", "list", "--json", ...t.flags], json), 0);
  assert.doesNotMatch(json.stdout.join("\n"), TERMINAL_CONTROL);
  const [row] = JSON.parse(json.stdout.join("\n"));
  assert.equal(row.question, question);
  assert.deepEqual(row.options, ["\x9b31myes"]);
});
