import assert from "node:assert/strict";
import type { Command } from "commander";
import { buildProgram, runCli } from "./program.ts";
import { captureIo } from "./output.ts";
import { VERSION } from "./version.ts";
import { SCHEMA_VERSION } from "../src/state/mod.ts";

/** Every command path in the tree, e.g. ["change", "submit"]. */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.filter((c) => c.name() !== "help").flatMap((c) => {
    const path = [...prefix, c.name()];
    return [path, ...commandPaths(c, path)];
  });
}

Deno.test("every command has --help, which prints its usage and runs nothing", async () => {
  const paths = commandPaths(buildProgram(captureIo()));
  assert.ok(paths.length >= 25, `only ${paths.length} commands`);
  for (const path of [[], ...paths]) {
    const io = captureIo();
    const code = await runCli([...path, "--help"], io);
    assert.equal(code, 0, path.join(" "));
    assert.match(io.stdout.join("\n"), new RegExp(`^Usage: ironclaw ${path.join(" ")}`), path.join(" "));
    assert.deepEqual(io.stderr, [], path.join(" "));
  }
});

Deno.test("every listing offers --json", () => {
  const program = buildProgram(captureIo());
  const find = (path: string[]) =>
    path.reduce((cmd: Command, name) => cmd.commands.find((c) => c.name() === name)!, program);
  const listings = [
    ["change", "pending"],
    ["change", "history"],
    ["audit"],
    ["agent", "list"],
    ["agent", "templates"],
    ["registry", "agent-groups"],
    ["registry", "messaging-groups"],
    ["registry", "wirings"],
    ["registry", "sessions"],
    ["tools"],
    ["status"],
    ["doctor"],
  ];
  for (const path of listings) {
    assert.ok(find(path).options.some((o) => o.long === "--json"), path.join(" "));
  }
});

Deno.test("version prints the deno.json version", async () => {
  const io = captureIo();
  assert.equal(await runCli(["version"], io), 0);
  assert.deepEqual(io.stdout, [`ironclaw ${VERSION}`]);
  const json = captureIo();
  assert.equal(await runCli(["version", "--json"], json), 0);
  assert.deepEqual(JSON.parse(json.stdout[0]), { version: VERSION, schema: SCHEMA_VERSION });
});

Deno.test("usage mistakes are a non-zero exit with a short message on stderr", async () => {
  for (
    const args of [
      ["no-such-command"],
      ["change", "submit", "--agent", "demo", "--after", "{}"],
      ["audit", "--limit", "0"],
      ["registry", "add-wiring", "--messaging-group", "m", "--agent", "a", "--engage", "sometimes"],
    ]
  ) {
    const io = captureIo();
    const code = await runCli(args, io);
    assert.notEqual(code, 0, args.join(" "));
    assert.deepEqual(io.stdout, [], args.join(" "));
    assert.equal(io.stderr.length, 1, `${args.join(" ")}: ${io.stderr.join("|")}`);
    assert.match(io.stderr[0], /^ironclaw: \S/);
  }
});

Deno.test("the README shows the real top-level --help", async () => {
  const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
  const shown = /```text\n(Usage: ironclaw \[options\] \[command\]\n[\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(shown, "README has no --help block");
  const io = captureIo();
  assert.equal(await runCli(["--help"], io), 0);
  assert.equal(shown.trimEnd(), io.stdout.join("\n").trimEnd());
});
