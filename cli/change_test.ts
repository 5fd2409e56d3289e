import assert from "node:assert/strict";
import { tempDir } from "../tests/support/mod.ts";
import { parseAfter, parseKind } from "./change.ts";
import { CliError } from "./errors.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";
import { closedPortUrl, servedFakePlane } from "../tests/support/served_plane.ts";

Deno.test("--kind accepts the gateway's kinds only", () => {
  assert.equal(parseKind("enabled_tools"), "enabled_tools");
  assert.throws(
    () => parseKind("root_shell"),
    (e: unknown) => e instanceof CliError && /unknown change kind/.test(e.message),
  );
});

Deno.test("--after takes inline JSON or @file", async () => {
  using dir = tempDir();
  assert.deepEqual(await parseAfter('["read_file"]'), ["read_file"]);
  Deno.writeTextFileSync(`${dir.path}/after.json`, '{"add":["send_file"]}');
  assert.deepEqual(await parseAfter(`@${dir.path}/after.json`), { add: ["send_file"] });
  await assert.rejects(parseAfter("{nope"), /--after is not valid JSON/);
  await assert.rejects(
    parseAfter(`@${dir.path}/missing.json`),
    /--after file .*missing\.json does not exist/,
  );
  await assert.rejects(parseAfter(`@${dir.path}`), /is not a regular file/);
  Deno.writeFileSync(`${dir.path}/big.json`, new Uint8Array(300 * 1024).fill(0x20));
  await assert.rejects(parseAfter(`@${dir.path}/big.json`), /larger than/);
  Deno.writeFileSync(`${dir.path}/bin.json`, new Uint8Array([0xff, 0xfe, 0x22]));
  await assert.rejects(parseAfter(`@${dir.path}/bin.json`), /not valid UTF-8/);
});

Deno.test("bad input to change submit is one line on stderr, a non-zero exit, and no request", async () => {
  using dir = tempDir();
  // The URL would refuse connections: each case must fail before any request is made.
  const api = ["--api-url", closedPortUrl()];
  const cases: [string[], RegExp][] = [
    [["--kind", "enabled_tools", "--after", "{bad"], /^ironclaw: --after is not valid JSON: /],
    [
      ["--kind", "enabled_tools", "--after", `@${dir.path}/nope.json`],
      /^ironclaw: --after file .* does not exist$/,
    ],
    [
      ["--kind", "self_destruct", "--after", "[]"],
      /^ironclaw: unknown change kind "self_destruct": expected one of /,
    ],
  ];
  for (const [args, expected] of cases) {
    const io = captureIo();
    const code = await runCli(["change", "submit", "--agent", "demo", ...args, ...api], io);
    assert.equal(code, 1, args.join(" "));
    assert.equal(io.stderr.length, 1, io.stderr.join("\n"));
    assert.match(io.stderr[0], expected);
    assert.deepEqual(io.stdout, []);
  }
});

Deno.test("a control plane that is not running is named with a hint", async () => {
  const url = closedPortUrl();
  for (const args of [["change", "pending"], ["change", "approve", "chg_x"], ["audit"], ["status"]]) {
    const io = captureIo();
    assert.equal(await runCli([...args, "--api-url", url], io), 1);
    assert.deepEqual(io.stderr, [
      `ironclaw: cannot reach the control plane at ${url}: is \`ironclaw serve\` running?`,
    ]);
  }
});

Deno.test("an approver sees the requester, the stated reason and what the change does (change show, pending)", async () => {
  await using s = await servedFakePlane();
  const submitted = captureIo();
  const submit = [
    "change",
    "submit",
    "--kind",
    "enabled_tools",
    "--agent",
    "demo",
    "--after",
    '["read_file"]',
  ];
  assert.equal(
    await runCli(
      [...submit, "--reason", "only needs its notes", "--requested-by", "cli:ana", ...s.flags],
      submitted,
    ),
    0,
    submitted.stderr.join("\n"),
  );
  const id = submitted.stdout[0].match(/^submitted (\S+) /)![1];
  const show = captureIo();
  assert.equal(await runCli(["change", "show", id, ...s.flags], show), 0);
  const text = show.stdout.join("\n");
  assert.match(text, /^requested by: cli:ana$/m);
  assert.match(text, /^reason: {7}only needs its notes$/m);
  assert.match(text, /^what it does:\n {2}tools removed \(16\): write_file, list_dir, send_message, /m);
  assert.match(text, /^ {2}tools after: read_file, ask_user_question, request_capability_change$/m);
  const pending = captureIo();
  assert.equal(await runCli(["change", "pending", ...s.flags], pending), 0);
  assert.match(pending.stdout[0], /REQUESTED-BY +AGE +REASON +CHANGE/);
  assert.match(pending.stdout[1], /cli:ana .* only needs its notes +tools removed \(16\)/);
});
