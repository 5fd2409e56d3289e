import assert from "node:assert/strict";
import { tempDir } from "../../tests/support/mod.ts";
import { KeyCustodian } from "../keys/mod.ts";
import { checkReport, signReport } from "./signed_report.ts";
import type { VerifyResult } from "./run.ts";

const RESULT: VerifyResult = {
  isolator: { kind: "runsc", strength: "gvisor", detail: "gVisor" },
  walls: [
    { name: "network-tcp", held: true, detail: "0 connections" },
    { name: "workspace-disk", held: false, detail: "no quota" },
  ],
};

Deno.test("a signed report checks under its host's key, and fails once altered or under another key", async () => {
  using dir = tempDir();
  const custodian = await KeyCustodian.open(dir.path);
  const signed = await signReport(RESULT, custodian, new Date("2026-11-27T10:00:00Z"));
  assert.equal(signed.held, false);
  const text = JSON.stringify(signed);
  const ok = await checkReport(text, custodian);
  assert.ok(ok.ok);

  const flipped = JSON.parse(text);
  flipped.walls[1].held = true;
  flipped.held = true;
  const tampered = await checkReport(JSON.stringify(flipped), custodian);
  assert.deepEqual(tampered, { ok: false, reason: "the signature does not match: the report was altered" });

  const reworded = JSON.parse(text);
  reworded.walls[0].detail = "0 connections (really)";
  assert.equal((await checkReport(JSON.stringify(reworded), custodian)).ok, false);

  assert.equal((await checkReport("{}", custodian)).ok, false);
  assert.equal((await checkReport("not json", custodian)).ok, false);

  using other = tempDir();
  const stranger = await KeyCustodian.open(other.path);
  const foreign = await checkReport(text, stranger);
  assert.equal(foreign.ok, false);
  assert.match((foreign as { reason: string }).reason, /signed under master/);

  // A forger who copies the victim's master fingerprint still lacks its key.
  const forged = await signReport(RESULT, stranger);
  const relabeled = JSON.stringify({ ...forged, master: custodian.fingerprint });
  assert.equal((await checkReport(relabeled, custodian)).ok, false);
});
