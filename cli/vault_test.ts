import assert from "node:assert/strict";
import { Command } from "commander";
import { DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import { captureIo } from "./output.ts";
import { servedFakePlane } from "./test_helpers.ts";
import { registerVaultCommands } from "./vault.ts";

/** Runs `vault <args>` with `stdin` piped in (not a terminal, so no prompt). */
async function vault(flags: string[], args: string[], stdin = "") {
  const io = captureIo();
  const program = new Command().exitOverride();
  registerVaultCommands(program, io, () => ReadableStream.from([new TextEncoder().encode(stdin)]));
  let error: unknown;
  await program.parseAsync(["vault", ...args, ...flags], { from: "user" }).catch((err) => error = err);
  return { ...io, error: error as Error | undefined };
}

Deno.test("vault set reads stdin, list shows names and grants but no value, grant proposes a change, rm", async () => {
  await using t = await servedFakePlane();
  const set = await vault(t.flags, ["set", "github"], "ghp_cli-test-value\n");
  assert.equal(set.error, undefined);
  assert.deepEqual(set.stdout, ["stored github (sealed; the value is never shown again)"]);
  assert.equal(await t.plane.vault.reveal("github"), "ghp_cli-test-value");
  assert.match((await vault(t.flags, ["set", "github"], "rotated")).stdout[0], /^rotated github/);

  const grant = await vault(t.flags, [
    "grant",
    "github",
    "--agent",
    DEMO_AGENT_ID,
    "--host",
    "api.github.com",
  ]);
  assert.equal(grant.error, undefined, String(grant.error));
  const [change] = t.plane.gateway.pending();
  assert.equal(change.request.kind, "vault_grant");
  assert.deepEqual(change.request.after, {
    name: "github",
    host: "api.github.com",
    header: "Authorization",
    format: "Bearer {}",
  });
  assert.match(grant.stdout[1], new RegExp(`approve with: ironclaw change approve ${change.request.id}`));
  await t.plane.gateway.decide(change.request.id, "approve", "test:human");

  const list = await vault(t.flags, ["list"]);
  assert.match(list.stdout[0], /^NAME\s+CREATED\s+SET\s+GRANTED TO$/);
  assert.match(list.stdout[1], /^github\s+\S+\s+\S+\s+demo → api\.github\.com \(authorization\)$/);
  assert.doesNotMatch(list.stdout.join("\n"), /rotated|ghp_/);

  const badHost = await vault(t.flags, ["grant", "github", "--agent", DEMO_AGENT_ID, "--host", "https://x/"]);
  assert.match(badHost.error!.message, /--host https:\/\/x\/: the host is a bare host name/);
  const noValue = await vault(t.flags, ["set", "empty"], "\n");
  assert.match(noValue.error!.message, /no value given/);

  assert.deepEqual((await vault(t.flags, ["rm", "github"])).stdout, ["removed github"]);
  assert.deepEqual((await vault(t.flags, ["list"])).stdout, [
    "The vault is empty. Add a secret with: ironclaw vault set NAME",
  ]);
});
