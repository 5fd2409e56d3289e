import assert from "node:assert/strict";
import { tempDir } from "../tests/support/mod.ts";
import { AUDIT_LOG_FILE } from "../src/audit/mod.ts";
import { ControlPlane, DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import { KeyCustodian, MASTER_KEY_FILE } from "../src/keys/mod.ts";
import { ApiClient } from "./client.ts";
import {
  checkApi,
  checkAuditChain,
  checkChannels,
  checkMasterKey,
  checkMcpServers,
  checkModels,
  checkSandbox,
  checkSqlcipher,
  checkStateDir,
  describeCheck,
} from "./doctor.ts";
import { FakeTelegram } from "../tests/support/fake_telegram.ts";
import { ChannelConfigStore } from "../src/channels/mod.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";
import { closedPortUrl, servedFakePlane } from "../tests/support/served_plane.ts";
import type { ChangeId } from "../contract/ids.ts";
import { IsolatorUnavailableError } from "../isolator/mod.ts";

/** A state directory with a decided change in its audit log. */
async function populatedStateDir(path: string): Promise<void> {
  const plane = await ControlPlane.open({ stateDir: path, dev: true });
  const rec = await plane.gateway.submit({
    kind: "enabled_tools",
    agentGroupId: DEMO_AGENT_ID,
    requestedBy: "test",
    after: ["read_file"],
  });
  await plane.gateway.decide(rec.request.id, "approve", "test:human");
  await plane.close();
}

Deno.test("libsqlcipher is found and reports its cipher version; a wrong library fails with a hint", () => {
  const ok = checkSqlcipher();
  assert.equal(ok.ok, true);
  assert.match(ok.detail, /^SQLCipher 4\.5\.5 community \(/);
  const bad = checkSqlcipher("/nonexistent/libsqlcipher.so");
  assert.equal(bad.ok, false);
  assert.match(bad.fix!, /task setup/);
});

Deno.test("a healthy state directory passes; loose modes fail with the chmod to run", async () => {
  using dir = tempDir();
  await populatedStateDir(dir.path);
  assert.equal(checkStateDir(dir.path).ok, true);
  assert.equal((await checkMasterKey(dir.path)).ok, true);
  const audit = await checkAuditChain(dir.path);
  assert.equal(audit.ok, true, audit.detail);
  // The dev seed's three registry writes, the change's four steps and its registry write.
  assert.match(audit.detail, /8 lines verified/);

  Deno.chmodSync(dir.path, 0o755);
  const loose = checkStateDir(dir.path);
  assert.deepEqual([loose.ok, loose.fix], [false, `chmod 700 ${dir.path}`]);
  assert.match(loose.detail, /mode 0755/);

  Deno.chmodSync(`${dir.path}/${MASTER_KEY_FILE}`, 0o640);
  const key = await checkMasterKey(dir.path);
  assert.deepEqual([key.ok, key.fix], [false, `chmod 600 ${dir.path}/${MASTER_KEY_FILE}`]);
});

Deno.test("a tampered audit line fails the audit check", async () => {
  using dir = tempDir();
  await populatedStateDir(dir.path);
  const path = `${dir.path}/${AUDIT_LOG_FILE}`;
  Deno.writeTextFileSync(
    path,
    Deno.readTextFileSync(path).replace('"read_file"', '"read_fila"').replace("test:human", "test:humax"),
  );
  const audit = await checkAuditChain(dir.path);
  assert.equal(audit.ok, false);
  assert.match(audit.detail, /broken at line \d/);
});

Deno.test("a missing state directory and an unreachable API fail with how to fix them", async () => {
  using dir = tempDir();
  const missing = `${dir.path}/none`;
  const results = [checkStateDir(missing), await checkMasterKey(missing), await checkAuditChain(missing)];
  for (const r of results) {
    assert.deepEqual([r.ok, r.fix], [
      false,
      `run \`ironclaw serve --state-dir ${missing}\` once to create it`,
    ]);
  }
  const api = await checkApi(new ApiClient(closedPortUrl(), undefined));
  assert.equal(api.ok, false);
  assert.match(
    describeCheck({ name: "api", ...api }),
    /^FAIL {2}api {10}cannot reach .* — fix: start it with `ironclaw serve`/,
  );
  assert.equal(
    await checkModels(new ApiClient(closedPortUrl(), undefined)),
    undefined,
    "left to the api check",
  );
});

Deno.test("the sandbox check smoke-runs the backend serve would choose here; none working fails with the fix", async () => {
  // This machine (and CI) runs as root with runsc or bubblewrap: the check launches it for real.
  using scratch = tempDir();
  const here = await checkSandbox({ tempDir: scratch.path });
  assert.ok(here.ok, here.detail);
  assert.match(here.detail, /^isolator (runsc \(gvisor\)|bwrap \(namespaces\)): auto: /);
  assert.deepEqual([...Deno.readDirSync(scratch.path)], [], "the scratch directory is removed");

  const none = await checkSandbox({
    tempDir: scratch.path,
    choose: () => {
      throw new IsolatorUnavailableError(
        "auto",
        "runsc unavailable (not installed); bwrap unavailable (not installed)",
      );
    },
  });
  assert.equal(none.ok, false);
  assert.match(none.detail, /runsc unavailable \(not installed\); bwrap unavailable/);
  assert.match(none.fix!, /apt-get install runsc/);
});

Deno.test("doctor prints one line per check and exits non-zero on a failure", async () => {
  using dir = tempDir();
  await populatedStateDir(dir.path);
  const io = captureIo();
  const code = await runCli(["doctor", "--state-dir", dir.path, "--api-url", closedPortUrl()], io);
  assert.equal(code, 1);
  assert.deepEqual(io.stdout.map((l) => l.slice(0, 17)), [
    "ok    sqlcipher  ",
    "ok    state-dir  ",
    "ok    master-key ",
    "ok    audit-chain",
    "ok    sandbox    ",
    "FAIL  api        ",
  ]);
  assert.deepEqual(io.stderr, ["ironclaw: 1 check failed"]);
});

Deno.test("doctor checks a configured Telegram channel's token with getMe, even while a control plane runs", async () => {
  using dir = tempDir();
  await using telegram = FakeTelegram.start();
  const plane = await ControlPlane.open({ stateDir: dir.path, dev: true });
  try {
    assert.deepEqual(await checkChannels(dir.path), [], "no channel configured: no check");
    new ChannelConfigStore(plane.state).put({
      type: "telegram",
      tokenEnv: "IRONCLAW_DOCTOR_TG_TOKEN",
      apiRoot: telegram.apiRoot,
      webhookUrl: null,
    });
    Deno.env.set("IRONCLAW_DOCTOR_TG_TOKEN", telegram.token);
    const [ok] = await checkChannels(dir.path);
    assert.equal(ok?.name, "telegram");
    assert.equal(ok?.ok, true, ok?.detail);
    Deno.env.set("IRONCLAW_DOCTOR_TG_TOKEN", "999:AAwrong-token-that-the-fake-refuses");
    const [bad] = await checkChannels(dir.path);
    assert.equal(bad?.ok, false);
    assert.ok(!bad!.detail.includes("AAwrong"), "the token never appears in the check's line");
  } finally {
    Deno.env.delete("IRONCLAW_DOCTOR_TG_TOKEN");
    await plane.close();
  }
});

Deno.test("under passphrase custody the audit check asks for the passphrase, and passes with it", async () => {
  using dir = tempDir();
  const custodian = await KeyCustodian.open(dir.path, {
    mode: "passphrase",
    passphrase: () => Promise.resolve("correct horse battery"),
    scryptLog2N: 14,
  });
  assert.equal(custodian.custody, "passphrase");
  Deno.writeTextFileSync(`${dir.path}/audit.jsonl`, "", { mode: 0o600 });
  const locked = await checkAuditChain(dir.path);
  assert.equal(locked.ok, false);
  assert.match(locked.detail, /is under a passphrase and no passphrase was given/);
  assert.match(locked.fix ?? "", /--passphrase-file/);
  const passphraseFile = `${dir.path}/pass`;
  Deno.writeTextFileSync(passphraseFile, "correct horse battery", { mode: 0o600 });
  const checked = await checkAuditChain(dir.path, { flags: { passphraseFile } });
  assert.equal(checked.ok, true, checked.detail);
  const master = await checkMasterKey(dir.path);
  assert.match(master.detail, /custody passphrase/);
});

Deno.test("doctor starts each registered MCP server where it runs and lists its tools: one line per server, the fix on failure", async () => {
  await using t = await servedFakePlane({ mcpAllowHostProcess: true });
  const sample = new URL("../src/mcp/sample/server.ts", import.meta.url).pathname;
  const put = (config: Parameters<typeof t.plane.mcpCatalog.put>[0]) =>
    t.plane.mcpCatalog.put(config, "chg_test" as ChangeId);
  put({ name: "sample", transport: "stdio", command: Deno.execPath(), args: ["run", "-A", sample] });
  put({
    name: "keyed",
    transport: "stdio",
    command: Deno.execPath(),
    args: ["run", "-A", sample],
    envSecrets: { TOKEN: "keyed-token" },
  });
  put({ name: "inward", transport: "http", url: "https://127.0.0.1:9/mcp" });
  const results = await checkMcpServers(new ApiClient(t.server.url, t.token));
  const lines = results.map(describeCheck);
  assert.deepEqual(lines.map((l) => l.slice(0, 18)), [
    "FAIL  mcp:inward  ",
    "FAIL  mcp:keyed   ",
    "ok    mcp:sample  ",
  ]);
  assert.match(
    lines[0],
    /127\.0\.0\.1, a loopback address.* — fix: use its https URL .*--egress-allow-private/,
  );
  assert.match(
    lines[1],
    /vault secret keyed-token \(for TOKEN\) is not set.* — fix: ironclaw vault set keyed-token$/,
  );
  assert.match(lines[2], /3 tools \(add, echo, slow\); a bare host process \(WEAKER: no sandbox\)$/);

  // Without the host-process flag and no runsc or bwrap (the fake plane's backend is the process one): refused, with the fix.
  await using bare = await servedFakePlane();
  bare.plane.mcpCatalog.put(
    { name: "sample", transport: "stdio", command: Deno.execPath(), args: ["run", "-A", sample] },
    "chg_test" as ChangeId,
  );
  const [refused] = await checkMcpServers(new ApiClient(bare.server.url, bare.token));
  assert.equal(refused.ok, false);
  assert.match(refused.fix!, /apt-get install runsc.*or serve --mcp-allow-host-process/);
});
