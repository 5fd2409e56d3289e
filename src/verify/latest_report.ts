/**
 * Where `ironclaw verify` keeps its signed reports in the state directory
 * (`verify-reports/`, one file per run, named by when it ran), and the newest
 * one read back with its signature checked: what the console's Isolation
 * page shows.
 *
 * @module
 */
import type { KeyCustodian } from "../keys/mod.ts";
import { type CheckOutcome, checkReport, type SignedReport } from "./signed_report.ts";

/** The state directory's folder of signed reports. */
export const VERIFY_REPORTS_DIR = "verify-reports";

/** The path a report signed at `createdAt` is kept at under `stateDir`. */
export function keptReportPath(stateDir: string, report: Pick<SignedReport, "createdAt">): string {
  return `${stateDir}/${VERIFY_REPORTS_DIR}/verify-${report.createdAt.replace(/[:.]/g, "-")}.json`;
}

/** The newest kept report: its path and the outcome of checking its signature. */
export interface LatestReport {
  path: string;
  check: CheckOutcome;
}

/** The newest report kept under `stateDir`, checked under `custodian`; undefined when none is kept. */
export async function latestReport(
  stateDir: string,
  custodian: KeyCustodian,
): Promise<LatestReport | undefined> {
  const dir = `${stateDir}/${VERIFY_REPORTS_DIR}`;
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && /^verify-.*\.json$/.test(entry.name)) names.push(entry.name);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  // The names are ISO times with ':' and '.' as '-': they sort as the times do.
  const newest = names.sort().at(-1);
  if (newest === undefined) return undefined;
  const path = `${dir}/${newest}`;
  return { path, check: await checkReport(await Deno.readTextFile(path), custodian) };
}
