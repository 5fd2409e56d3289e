/**
 * The signed verification report an operator keeps as evidence: the
 * isolator, the probe program that attacked it (version 2), every wall's
 * verdict, when, and an HMAC-SHA256 over all of it
 * under the host's `report-hmac` sub-key (derived from the master key, so
 * only this host can sign, and a rotation of the master retires old
 * signatures by design: check reports before rotating).
 *
 * @module
 */
import { KEY_PURPOSES, type KeyCustodian } from "../keys/mod.ts";
import type { VerifyResult, VerifyRun } from "./run.ts";
import type { Wall } from "./verdict.ts";

/** Which probe program attacked: its mode, and the compiled probe, or the probe source that was bundled. */
export interface ReportProbe {
  mode: "bundle" | "executable";
  program: string;
}

/** What the file holds. Version 1 reports (before the probe was recorded) still check. */
export interface SignedReport {
  kind: "ironclaw-verify-report";
  version: 1 | 2;
  createdAt: string;
  isolator: VerifyResult["isolator"];
  /** Version 2 on. */
  probe?: ReportProbe;
  walls: Wall[];
  /** Whether every wall held. */
  held: boolean;
  /** The signing master's fingerprint (not secret): which key to check with. */
  master: string;
  /** HMAC-SHA256, hex, over {@link canonicalBody}. */
  mac: string;
}

/** The signed bytes: every field but the MAC, in a fixed order that does not depend on JSON key order. */
export function canonicalBody(r: Omit<SignedReport, "mac">): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(JSON.stringify([
    r.kind,
    r.version,
    r.createdAt,
    [r.isolator.kind, r.isolator.strength, r.isolator.detail],
    ...(r.version === 1 ? [] : [[r.probe?.mode, r.probe?.program]]),
    r.walls.map((w) => [w.name, w.held, w.detail]),
    r.held,
    r.master,
  ]));
}

async function macKey(custodian: KeyCustodian): Promise<CryptoKey> {
  const raw = await custodian.deriveSubKey(KEY_PURPOSES.reportHmac);
  return await crypto.subtle.importKey(
    "raw",
    raw as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    [
      "sign",
      "verify",
    ],
  );
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** The probe as the report records it. */
export function reportProbe(probe: VerifyRun["probe"], source: string): ReportProbe {
  return { mode: probe.kind, program: probe.executable ?? source };
}

/** Signs a verification result (version 2: with the probe program that ran). */
export async function signReport(
  result: VerifyResult,
  probe: ReportProbe,
  custodian: KeyCustodian,
  now: Date = new Date(),
): Promise<SignedReport> {
  const body: Omit<SignedReport, "mac"> = {
    kind: "ironclaw-verify-report",
    version: 2,
    createdAt: now.toISOString(),
    isolator: result.isolator,
    probe,
    walls: result.walls,
    held: result.walls.every((w) => w.held),
    master: custodian.fingerprint,
  };
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await macKey(custodian), canonicalBody(body)));
  return { ...body, mac: hex(mac) };
}

/** The outcome of checking a report. */
export type CheckOutcome = { ok: true; report: SignedReport } | { ok: false; reason: string };

function isWall(w: unknown): w is Wall {
  const v = w as Wall;
  return typeof v === "object" && v !== null && typeof v.name === "string" && typeof v.held === "boolean" &&
    typeof v.detail === "string";
}

function isProbe(p: unknown): p is ReportProbe {
  const v = p as ReportProbe;
  return typeof v === "object" && v !== null && (v.mode === "bundle" || v.mode === "executable") &&
    typeof v.program === "string";
}

/** Parses `text` and checks its MAC under `custodian`'s report key (a constant-time comparison). */
export async function checkReport(text: string, custodian: KeyCustodian): Promise<CheckOutcome> {
  let r: SignedReport;
  try {
    r = JSON.parse(text);
  } catch {
    return { ok: false, reason: "not JSON" };
  }
  if (
    r?.kind !== "ironclaw-verify-report" || (r.version !== 1 && r.version !== 2) ||
    (r.version === 2 && !isProbe(r.probe)) || typeof r.createdAt !== "string" ||
    typeof r.isolator?.kind !== "string" || typeof r.isolator?.strength !== "string" ||
    typeof r.isolator?.detail !== "string" || !Array.isArray(r.walls) || !r.walls.every(isWall) ||
    typeof r.held !== "boolean" || typeof r.master !== "string" || typeof r.mac !== "string" ||
    !/^[0-9a-f]{64}$/.test(r.mac)
  ) {
    return { ok: false, reason: "not an ironclaw verify report" };
  }
  if (r.master !== custodian.fingerprint) {
    return {
      ok: false,
      reason:
        `signed under master ${r.master}, but this state directory's master is ${custodian.fingerprint}`,
    };
  }
  const mac = Uint8Array.from(r.mac.match(/../g)!, (h) => parseInt(h, 16));
  const valid = await crypto.subtle.verify("HMAC", await macKey(custodian), mac, canonicalBody(r));
  if (!valid) return { ok: false, reason: "the signature does not match: the report was altered" };
  if (r.held !== r.walls.every((w) => w.held)) return { ok: false, reason: "inconsistent verdict" };
  return { ok: true, report: r };
}
