import assert from "node:assert/strict";
import { tempDir } from "../../tests/support/mod.ts";
import { KEY_PURPOSES, KeyCustodian } from "../keys/mod.ts";
import { canonicalBody, checkReport, type ReportProbe, signReport } from "./signed_report.ts";
import type { VerifyResult } from "./run.ts";

const RESULT: VerifyResult = {
  isolator: { kind: "runsc", strength: "gvisor", detail: "gVisor" },
  walls: [
    { name: "network-tcp", held: true, detail: "0 connections" },
    { name: "workspace-disk", held: false, detail: "no quota" },
  ],
};
const PROBE: ReportProbe = { mode: "executable", program: "/opt/ironclaw/ironclaw-probe" };

Deno.test("a signed report checks under its host's key, and fails once altered or under another key", async () => {
  using dir = tempDir();
  const custodian = await KeyCustodian.open(dir.path);
  const signed = await signReport(RESULT, PROBE, custodian, new Date("2026-11-27T10:00:00Z"));
  assert.equal(signed.held, false);
  assert.equal(signed.version, 2);
  assert.deepEqual(signed.probe, PROBE);
  const text = JSON.stringify(signed);
  const ok = await checkReport(text, custodian);
  assert.ok(ok.ok);

  const flipped = JSON.parse(text);
  flipped.walls[1].held = true;
  flipped.held = true;
  const tampered = await checkReport(JSON.stringify(flipped), custodian);
  assert.deepEqual(tampered, { ok: false, reason: "the signature does not match: the report was altered" });

  const otherProbe = JSON.parse(text);
  otherProbe.probe = { mode: "bundle", program: "/work/ironclaw/isolator/probe/main.ts" };
  assert.equal((await checkReport(JSON.stringify(otherProbe), custodian)).ok, false, "the probe is signed");
  const noProbe = JSON.parse(text);
  delete noProbe.probe;
  assert.deepEqual(await checkReport(JSON.stringify(noProbe), custodian), {
    ok: false,
    reason: "not an ironclaw verify report",
  });

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
  const forged = await signReport(RESULT, PROBE, stranger);
  const relabeled = JSON.stringify({ ...forged, master: custodian.fingerprint });
  assert.equal((await checkReport(relabeled, custodian)).ok, false);
});

Deno.test("a version 1 report (from before the probe was recorded) still checks, and cannot be upgraded", async () => {
  using dir = tempDir();
  const custodian = await KeyCustodian.open(dir.path);
  const v2 = await signReport(RESULT, PROBE, custodian, new Date("2026-11-20T10:00:00Z"));
  // A version 1 report as that code signed it: no probe, and the probe not in the signed bytes.
  const { probe: _, mac: __, ...rest } = v2;
  const body = { ...rest, version: 1 as const };
  const raw = await custodian.deriveSubKey(KEY_PURPOSES.reportHmac);
  const key = await crypto.subtle.importKey(
    "raw",
    raw as Uint8Array<ArrayBuffer>,
    {
      name: "HMAC",
      hash: "SHA-256",
    },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, canonicalBody(body)));
  const v1 = { ...body, mac: Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("") };
  const checked = await checkReport(JSON.stringify(v1), custodian);
  assert.ok(checked.ok);
  assert.equal(checked.report.probe, undefined);
  // Adding a probe to it and calling it version 2 breaks the signature.
  assert.equal((await checkReport(JSON.stringify({ ...v1, version: 2, probe: PROBE }), custodian)).ok, false);
});
