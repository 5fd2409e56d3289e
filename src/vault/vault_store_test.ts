import assert from "node:assert/strict";
import type { ChangeId } from "../../contract/ids.ts";
import { Registry } from "../registry/mod.ts";
import { fixedKey, tempDir } from "../../tests/support/mod.ts";
import { openTestState } from "../../tests/support/state.ts";
import { VaultStore, VaultValueError } from "./mod.ts";

const SECRET = "ghp_vault-test-0123456789";

function withVault(fn: (vault: VaultStore, state: ReturnType<typeof openTestState>) => Promise<void>) {
  return async () => {
    using dir = tempDir();
    using state = openTestState(dir.path);
    new Registry(state).putAgentGroup({ id: "g1", name: "G1" });
    await fn(new VaultStore(state, fixedKey(0x42)), state);
  };
}

Deno.test(
  "set seals the value (no plaintext in the row), a second set rotates, list shows names and grants only",
  withVault(async (vault, state) => {
    assert.deepEqual(await vault.set("github", `${SECRET}\n`), { rotated: false });
    const row = state.db.get<{ sealed: Uint8Array }>(
      "SELECT sealed FROM vault_secrets WHERE name = 'github'",
    )!;
    assert.ok(!new TextDecoder("latin1").decode(row.sealed).includes(SECRET));
    assert.equal(await vault.reveal("github"), SECRET, "the piped newline is dropped");
    assert.deepEqual(await vault.set("github", "rotated-value"), { rotated: true });
    assert.equal(await vault.reveal("github"), "rotated-value");
    vault.grant("g1", {
      name: "github",
      host: "api.github.com",
      header: "Authorization",
      format: "Bearer {}",
    }, "chg_1" as ChangeId);
    const [entry] = vault.list();
    assert.equal(entry.name, "github");
    assert.deepEqual(entry.grants, [{ agentGroupId: "g1", host: "api.github.com", header: "authorization" }]);
    assert.doesNotMatch(JSON.stringify(vault.list()), /rotated-value/);
    assert.ok(vault.remove("github"));
    assert.deepEqual(vault.list(), []);
    assert.equal(vault.remove("github"), false);
  }),
);

Deno.test(
  "a value that would forge headers, or none, is refused",
  withVault(async (vault) => {
    for (const bad of ["", "\n", "a\r\nX-Evil: 1", "tab\there", "nul\0"]) {
      await assert.rejects(vault.set("x", bad), VaultValueError, JSON.stringify(bad));
    }
  }),
);

Deno.test(
  "headers go to the granted group and exact host (port included), formatted",
  withVault(async (vault) => {
    await vault.set("api", SECRET);
    await vault.set("local", "l0cal");
    vault.grant(
      "g1",
      { name: "api", host: "api.example.com", header: "X-Api-Key", format: "{}" },
      "chg_1" as ChangeId,
    );
    vault.grant(
      "g1",
      { name: "local", host: "127.0.0.1:8080", header: "Authorization", format: "Token {}" },
      "chg_2" as ChangeId,
    );
    assert.throws(
      () =>
        vault.grant("g1", { name: "absent", host: "x.test", header: "A", format: "{}" }, "chg_3" as ChangeId),
      /not set/,
    );
    const headers = (url: string, group = "g1") => vault.headersFor(group, new URL(url));
    assert.deepEqual(await headers("https://API.example.com/v1?q"), [{
      credential: "api",
      header: "x-api-key",
      value: SECRET,
    }]);
    assert.deepEqual(await headers("http://127.0.0.1:8080/"), [{
      credential: "local",
      header: "authorization",
      value: "Token l0cal",
    }]);
    assert.deepEqual(await headers("http://127.0.0.1:8081/"), []);
    assert.deepEqual(await headers("https://api.example.com.evil.test/"), []);
    assert.deepEqual(await headers("https://api.example.com/", "g2"), []);
  }),
);

Deno.test(
  "a value sealed under another key does not open",
  withVault(async (vault, state) => {
    await vault.set("api", SECRET);
    await assert.rejects(new VaultStore(state, fixedKey(0x43)).reveal("api"));
  }),
);
