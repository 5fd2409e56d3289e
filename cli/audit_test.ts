import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { canonicalJson } from "../contract/json.ts";
import { tempDir } from "../tests/support/mod.ts";
import { AUDIT_LOG_FILE } from "../src/audit/mod.ts";
import { ControlPlane, DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import { parseLimit } from "./audit.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";

Deno.test("--limit is a whole number from 1 to 2000", () => {
  assert.equal(parseLimit("25"), 25);
  for (const bad of ["0", "2001", "-3", "1.5", "ten", ""]) {
    assert.throws(() => parseLimit(bad), /--limit must be/);
  }
});

Deno.test("audit verify --offline reads the file with no server, and reports a break on one line", async () => {
  using dir = tempDir();
  const plane = await ControlPlane.open({ stateDir: dir.path, dev: true });
  const rec = await plane.gateway.submit({
    kind: "persona",
    agentGroupId: DEMO_AGENT_ID,
    requestedBy: "test",
    after: { soul: "calm" },
  });
  await plane.gateway.decide(rec.request.id, "reject", "test:human");
  await plane.close();

  // The dev seed's three registry writes (agent, user, membership), then the change's three lines.
  const ok = captureIo();
  assert.equal(await runCli(["audit", "verify", "--offline", "--state-dir", dir.path], ok), 0);
  assert.match(
    ok.stdout.join("\n"),
    /^audit chain ok: 6 lines verified, head [0-9a-f]{64} \(matches the state database\) \(.*audit\.jsonl\)$/,
  );

  const json = captureIo();
  assert.equal(await runCli(["audit", "verify", "--offline", "--state-dir", dir.path, "--json"], json), 0);
  assert.equal(JSON.parse(json.stdout.join("\n")).lines, 6);

  // Drop the middle line: the chain no longer links.
  const path = `${dir.path}/${AUDIT_LOG_FILE}`;
  const lines = Deno.readTextFileSync(path).split("\n");
  Deno.writeTextFileSync(path, [lines[0], ...lines.slice(2)].join("\n"));
  const broken = captureIo();
  assert.equal(await runCli(["audit", "verify", "--offline", "--state-dir", dir.path], broken), 2);
  assert.deepEqual(broken.stdout, []);
  assert.equal(broken.stderr.length, 1);
  assert.match(broken.stderr[0], /^ironclaw: audit chain broken at line 2 \(.*\): prev does not match/);

  // Rewrite the whole file with a recomputed plain chain: it links, but it is not the chain the database holds.
  const entries = lines.filter((l) => l).map((l) => JSON.parse(l));
  let prev = "";
  const forged: string[] = [];
  for (const e of entries) {
    const body = { ...e, detail: e.stage === "decision" ? "approve by test:human" : e.detail, prev };
    delete body.hash;
    const hash = createHash("sha256").update(canonicalJson(body)).digest("hex");
    forged.push(canonicalJson({ ...body, hash }));
    prev = hash;
  }
  Deno.writeTextFileSync(path, forged.join("\n") + "\n");
  const rewritten = captureIo();
  assert.equal(await runCli(["audit", "verify", "--offline", "--state-dir", dir.path], rewritten), 2);
  assert.match(rewritten.stderr[0], /audit chain broken at line 6 .*the state database records 6 lines/);
});

Deno.test("a --state-dir with no IronClaw state in it says so, not that the chain is broken", async () => {
  using dir = tempDir();
  const io = captureIo();
  assert.equal(await runCli(["audit", "verify", "--offline", "--state-dir", dir.path], io), 1);
  assert.equal(io.stderr.length, 1);
  assert.match(
    io.stderr[0],
    new RegExp(`^ironclaw: no IronClaw state here: ${dir.path} holds no state\\.db or audit\\.jsonl`),
  );
});
