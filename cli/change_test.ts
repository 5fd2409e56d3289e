import assert from "node:assert/strict";
import { tempDir } from "../tests/support/mod.ts";
import { parseAfter, parseKind } from "./change.ts";
import { CliError } from "./errors.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";
import { closedPortUrl } from "./test_helpers.ts";

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
