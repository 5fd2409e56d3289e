import assert from "node:assert/strict";
import { Command } from "commander";
import type { ChangeId } from "../contract/ids.ts";
import { DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import { captureIo } from "./output.ts";
import { servedFakePlane } from "../tests/support/served_plane.ts";
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

Deno.test("egress hosts lists an agent's approved hosts; egress revoke takes one away", async () => {
  await using t = await servedFakePlane();
  const { runCli } = await import("./program.ts");
  t.plane.egress.hosts.allow(DEMO_AGENT_ID, ["api.github.com", "127.0.0.1"], "chg_cli_test" as ChangeId);
  const hosts = captureIo();
  assert.equal(await runCli(["egress", "hosts", "--agent", DEMO_AGENT_ID, ...t.flags], hosts), 0);
  assert.deepEqual(hosts.stdout, ["127.0.0.1", "api.github.com"]);
  const revoked = captureIo();
  assert.equal(
    await runCli(["egress", "revoke", "api.github.com", "--agent", DEMO_AGENT_ID, ...t.flags], revoked),
    0,
  );
  assert.deepEqual(revoked.stdout, ["revoked api.github.com for demo; it may still fetch from: 127.0.0.1"]);
  assert.equal(t.plane.egress.hosts.allows(DEMO_AGENT_ID, "api.github.com"), false);
  const again = captureIo();
  assert.equal(
    await runCli(["egress", "revoke", "api.github.com", "--agent", DEMO_AGENT_ID, ...t.flags], again),
    1,
  );
  assert.match(again.stderr.join("\n"), /api\.github\.com is not approved for demo/);
});
