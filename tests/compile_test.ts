/**
 * The compile task bakes exactly the contract's flags into the agent, and the
 * same flags into `ironclaw verify`'s probe, which must start like it. A real
 * `denort` cannot be fetched here, so the test hands `deno compile` the full
 * Deno binary as a stand-in runtime (`DENORT_BIN`): the output cannot run as
 * the agent, but `deno compile` writes the same metadata into it, and the
 * permissions in that metadata are what a compiled agent starts with.
 */
import assert from "node:assert/strict";
import { agentPermissionFlags, SANDBOX_LAYOUT } from "../contract/permissions.ts";
import { tempDir } from "./support/mod.ts";
import { compileArgs, type CompileTarget, compileTarget, TARGETS } from "../scripts/compile.ts";
import { PROBE_EXECUTABLE_NAME, PROBE_SOURCE } from "../src/verify/mod.ts";

/** The JSON object starting at `start` in `bytes` (strings may hold braces). */
function jsonObjectAt(bytes: Uint8Array, start: number): unknown {
  let depth = 0;
  let inString = false;
  for (let i = start; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) {
      return JSON.parse(new TextDecoder().decode(bytes.subarray(start, i + 1)));
    }
  }
  throw new Error("unterminated metadata object");
}

/** The metadata `deno compile` wrote into a binary: the one object that starts with its `argv`. */
function bakedMetadata(binary: Uint8Array): Record<string, unknown> {
  const marker = new TextEncoder().encode('{"argv":[');
  const starts: number[] = [];
  outer: for (let i = binary.indexOf(marker[0]); i !== -1; i = binary.indexOf(marker[0], i + 1)) {
    for (let j = 1; j < marker.length; j++) if (binary[i + j] !== marker[j]) continue outer;
    starts.push(i);
  }
  assert.equal(starts.length, 1, `expected one metadata object, found ${starts.length}`);
  return jsonObjectAt(binary, starts[0]) as Record<string, unknown>;
}

/** What Deno records for permission flags: `--allow-x=a,b` as `allow_x: [a, b]`, a bare one as `[]`. */
function permissionsOf(flags: readonly string[]): Record<string, unknown> {
  const expected: Record<string, unknown> = {};
  for (const flag of flags) {
    if (flag === "--no-prompt") {
      expected.prompt = false;
      continue;
    }
    const match = /^--(allow|deny)-([a-z]+)(?:=(.*))?$/.exec(flag);
    assert.ok(match, `not a permission flag: ${flag}`);
    expected[`${match[1]}_${match[2]}`] = match[3] === undefined ? [] : match[3].split(",");
  }
  return expected;
}

const agent = TARGETS.find((t) => t.name === "ironclaw-agent")!;
const probe = TARGETS.find((t) => t.name === PROBE_EXECUTABLE_NAME)!;

/**
 * Compiles `target` (with the full Deno binary standing in for `denort`) and
 * checks what `deno compile` baked in: no arguments, no code cache, and
 * exactly the contract's agent flags, grant by grant, and nothing more.
 */
async function assertBakedLikeTheAgent(target: CompileTarget): Promise<void> {
  using dir = tempDir("ironclaw-compile-");
  const output = `${dir.path}/${target.name}`;
  await compileTarget(target, output, { DENORT_BIN: Deno.execPath() });
  assert.equal(Deno.statSync(output).mode! & 0o777, 0o755);
  const metadata = bakedMetadata(Deno.readFileSync(output));
  assert.deepEqual(metadata.argv, [], "no arguments are baked in: the isolator passes --layout");
  assert.equal(metadata.code_cache_key, null, "--no-code-cache");
  const baked = metadata.permissions as Record<string, unknown>;
  const expected = permissionsOf(agentPermissionFlags(SANDBOX_LAYOUT));
  for (const [key, value] of Object.entries(expected)) assert.deepEqual(baked[key], value, key);
  // Every grant the flags do not name stays unset (allow_import keeps Deno's default list, which
  // `--deny-import` with no list overrides: it is the deny_import [] above).
  for (const [key, value] of Object.entries(baked)) {
    if (key in expected || key === "allow_import") continue;
    assert.equal(value, null, `${key} is ${JSON.stringify(value)}`);
  }
  assert.deepEqual(baked.deny_import, []);
}

Deno.test("the agent target compiles sandbox-agent/main.ts with the contract's flags and its bundle options", () => {
  assert.deepEqual(agent.flags, agentPermissionFlags(SANDBOX_LAYOUT));
  const args = compileArgs(agent, "/out/ironclaw-agent");
  assert.ok(args.at(-1)!.endsWith("/sandbox-agent/main.ts"));
  for (const option of ["--bundle", "--minify", "--no-code-cache"]) assert.ok(args.includes(option), option);
  assert.ok(!args.some((a) => a.startsWith("--include")), "libsqlcipher is bound in, not embedded");
});

Deno.test({
  name: "the compiled agent's baked-in permissions are the contract's agent flags, and nothing more",
  fn: () => assertBakedLikeTheAgent(agent),
});

Deno.test("the probe target compiles verify's probe source exactly like the agent: same flags, same options", () => {
  assert.ok(probe, `scripts/compile.ts has no ${PROBE_EXECUTABLE_NAME} target`);
  assert.deepEqual(probe.flags, agent.flags);
  assert.deepEqual(probe.options, agent.options);
  // The source verify bundles when it runs from source is the one the release compiles.
  assert.equal(compileArgs(probe, "/out/ironclaw-probe").at(-1), PROBE_SOURCE);
  assert.deepEqual(
    compileArgs(probe, "/out/ironclaw-probe").slice(0, -2),
    compileArgs(agent, "/out/ironclaw-probe").slice(0, -2),
  );
});

Deno.test({
  name: "the compiled probe's baked-in permissions are the contract's agent flags, and nothing more",
  fn: () => assertBakedLikeTheAgent(probe),
});
