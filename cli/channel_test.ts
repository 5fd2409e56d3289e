import assert from "node:assert/strict";
import { nowTimestamp } from "../contract/time.ts";
import { Command } from "commander";
import { resolveLibraryPath } from "../contract/sqlite/mod.ts";
import { lockStateDir } from "../src/control_plane/mod.ts";
import { KeyCustodian, STATE_DB_KEY_ID } from "../src/keys/mod.ts";
import { StateDb } from "../src/state/mod.ts";
import { tempDir } from "../tests/support/mod.ts";
import { FakeSlack } from "../tests/support/fake_slack.ts";
import { FakeTelegram } from "../tests/support/fake_telegram.ts";
import { checkChannel, registerChannelCommands } from "./channel.ts";
import { CliError } from "./errors.ts";
import { captureIo } from "./output.ts";

/** A state directory as `ironclaw serve` leaves it: master key, sealed state key, migrated database. */
async function initialised(dir: string): Promise<void> {
  const keys = await KeyCustodian.open(dir);
  StateDb.open(dir, { library: resolveLibraryPath(), key: await keys.getOrCreate(STATE_DB_KEY_ID) }).close();
}

async function run(...args: string[]) {
  const io = captureIo();
  const program = new Command("ironclaw").exitOverride().configureOutput({ writeErr: () => {} });
  registerChannelCommands(program, io);
  let error: unknown;
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (err) {
    error = err;
  }
  return { ...io, error };
}

Deno.test("channel add/list/remove: persisted host-side with the variable's name, never the token", async () => {
  using dir = tempDir();
  await initialised(dir.path);
  Deno.env.set("IRONCLAW_TEST_TG_TOKEN", "123456:AAthe-real-secret-never-stored-xyz");
  try {
    const added = await run(
      "channel",
      "add",
      "telegram",
      "--token-env",
      "IRONCLAW_TEST_TG_TOKEN",
      "--state-dir",
      dir.path,
    );
    assert.equal(added.error, undefined);
    assert.match(
      added.stdout[0],
      /^added channel telegram: token from \$IRONCLAW_TEST_TG_TOKEN, long polling via https:\/\/api\.telegram\.org/,
    );
    assert.deepEqual(added.stderr, []);

    const updated = await run(
      "channel",
      "add",
      "telegram",
      "--token-env",
      "UNSET_TG_VAR",
      "--api-root",
      "http://127.0.0.1:8081",
      "--state-dir",
      dir.path,
    );
    assert.match(updated.stdout[0], /^updated channel telegram: .* via http:\/\/127\.0\.0\.1:8081/);
    assert.deepEqual(updated.stderr, [
      "note: $UNSET_TG_VAR is not set in this shell; set it where IronClaw runs",
    ]);

    const listed = await run("channel", "list", "--json", "--state-dir", dir.path);
    const rows = JSON.parse(listed.stdout.join("\n"));
    assert.deepEqual(
      rows.map((r: Record<string, unknown>) => [r.name, r.tokenEnv, r.tokenSet, r.apiRoot, r.mode]),
      [["telegram", "UNSET_TG_VAR", false, "http://127.0.0.1:8081", "polling"]],
    );
    const table = await run("channel", "list", "--state-dir", dir.path);
    assert.match(
      table.stdout[1],
      /^telegram\s+\$UNSET_TG_VAR \(unset here\)\s+polling\s+http:\/\/127\.0\.0\.1:8081$/,
    );

    const bad = await run(
      "channel",
      "add",
      "telegram",
      "--token-env",
      "X",
      "--api-root",
      "http://evil.example",
      "--state-dir",
      dir.path,
    );
    assert.match(String((bad.error as Error).message), /plain http only on loopback/);

    const removed = await run("channel", "remove", "telegram", "--state-dir", dir.path);
    assert.deepEqual(removed.stdout, ["removed channel telegram"]);
    const again = await run("channel", "remove", "telegram", "--state-dir", dir.path);
    assert.ok(again.error instanceof CliError);
    const empty = await run("channel", "list", "--state-dir", dir.path);
    assert.match(empty.stdout[0], /^no channels/);

    for (const file of Deno.readDirSync(dir.path)) {
      if (!file.isFile) continue;
      const bytes = new TextDecoder("latin1").decode(Deno.readFileSync(`${dir.path}/${file.name}`));
      assert.ok(!bytes.includes("the-real-secret"), `${file.name} holds no token`);
    }
  } finally {
    Deno.env.delete("IRONCLAW_TEST_TG_TOKEN");
  }
});

Deno.test("channel list reads a directory in use; changes to it, and a directory never initialised, are refused", async () => {
  using fresh = tempDir();
  const none = await run("channel", "list", "--state-dir", fresh.path);
  assert.match((none.error as Error).message, /holds no IronClaw state yet/);
  using dir = tempDir();
  await initialised(dir.path);
  const release = lockStateDir(dir.path);
  try {
    // Reading works beside a running control plane; a change says to stop it first (it takes effect at start).
    const listed = await run("channel", "list", "--state-dir", dir.path);
    assert.equal(listed.error, undefined);
    assert.match(listed.stdout[0], /^no channels/);
    const busy = await run("channel", "remove", "telegram", "--state-dir", dir.path);
    assert.match(
      (busy.error as Error).message,
      /in use by a running control plane \(pid \d+\): stop it, change channels, start it again/,
    );
  } finally {
    release();
  }
});

Deno.test("channel: the CLI module loads no platform library; the doctor check does, on demand", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("./channel.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.equal(out.code, 0);
  type Dep = { code?: { specifier: string }; isDynamic?: boolean };
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: { specifier: string; dependencies?: Dep[] }[];
  };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  // Everything reachable from cli/channel.ts through static imports only.
  const seen = new Set<string>();
  const todo = [...graph.roots];
  while (todo.length) {
    const spec = todo.pop()!;
    if (seen.has(spec)) continue;
    seen.add(spec);
    for (const d of bySpecifier.get(spec)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) todo.push(d.code.specifier);
    }
  }
  assert.ok([...seen].some((s) => s.endsWith("channel_config.ts")));
  assert.ok(![...seen].some((s) => s.includes("grammy")), "grammy is not in the static graph");
  assert.ok(![...seen].some((s) => s.includes("@slack")), "nor are the Slack libraries");
  assert.ok(graph.modules.some((m) => m.specifier.includes("grammy")), "…only behind the dynamic import");

  await using fake = FakeTelegram.start();
  const check = await checkChannel({
    name: "telegram",
    type: "telegram",
    tokenEnv: "TG",
    secretEnvs: {},
    apiRoot: fake.apiRoot,
    webhookUrl: null,
    createdAt: nowTimestamp(),
    updatedAt: nowTimestamp(),
  }, new Map([["TG", fake.token]]));
  assert.equal(check.ok, true);
});

Deno.test("channel add slack: its own token options (names only), the mode's secret required, other kinds' options refused; doctor calls Slack", async () => {
  using dir = tempDir();
  await initialised(dir.path);
  await using slack = FakeSlack.start();
  const wrong = await run("channel", "add", "slack", "--token-env", "X", "--state-dir", dir.path);
  assert.match((wrong.error as Error).message, /--token-env is not an option of a slack channel/);
  const noApp = await run("channel", "add", "slack", "--bot-token-env", "SB", "--state-dir", dir.path);
  assert.match((noApp.error as Error).message, /Socket Mode needs the app-level token: add --app-token-env/);
  const noSigning = await run(
    ...["channel", "add", "slack", "--bot-token-env", "SB", "--webhook-url", "https://x.example/h"],
    ...["--state-dir", dir.path],
  );
  assert.match((noSigning.error as Error).message, /--signing-secret-env/);

  const added = await run(
    ...["channel", "add", "slack", "--bot-token-env", "IRONCLAW_TEST_SLACK_BOT", "--app-token-env"],
    ...["IRONCLAW_TEST_SLACK_APP", "--api-root", slack.apiRoot, "--state-dir", dir.path],
  );
  assert.equal(added.error, undefined);
  assert.match(
    added.stdout[0],
    /^added channel slack: token from \$IRONCLAW_TEST_SLACK_BOT, the app-level token .* from \$IRONCLAW_TEST_SLACK_APP, Socket Mode via http:\/\/127\.0\.0\.1:\d+\/api/,
  );
  const listed = await run("channel", "list", "--json", "--state-dir", dir.path);
  const [row] = JSON.parse(listed.stdout.join("\n"));
  assert.deepEqual([row.name, row.tokenEnv, row.secretEnvs.app.env, row.mode], [
    "slack",
    "IRONCLAW_TEST_SLACK_BOT",
    "IRONCLAW_TEST_SLACK_APP",
    "socket",
  ]);

  const config = {
    name: "slack",
    type: "slack",
    tokenEnv: "SB",
    secretEnvs: { app: "SA" },
    apiRoot: slack.apiRoot,
    webhookUrl: null,
    createdAt: nowTimestamp(),
    updatedAt: nowTimestamp(),
  };
  const ok = await checkChannel(config, new Map([["SB", slack.botToken], ["SA", slack.appToken]]));
  assert.equal(ok.ok, true, ok.detail);
  assert.match(ok.detail, /bot ironclaw \(UBOT0001\)/);
  const bad = await checkChannel(config, new Map([["SB", "xoxb-9-wrong-token"], ["SA", slack.appToken]]));
  assert.equal(bad.ok, false);
  assert.match(bad.detail, /invalid_auth/);
  assert.ok(!bad.detail.includes("wrong-token"), "a token never appears in the check's line");
  const unset = await checkChannel(config, new Map());
  assert.match(unset.detail, /\$SB \(its bot token\) is not set/);
});
