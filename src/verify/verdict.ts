/**
 * Deciding walls. The probe's report is a claim; the host's own observations
 * are evidence. A wall is held only when every attempt against it is reported
 * as failed AND the host saw none of the effects a success would leave (a
 * connection, a datagram, a marker file, a moved access time, a changed hash,
 * a dead victim). A missing attempt, a success, or a contradiction between
 * claim and evidence makes the wall fall: verification fails closed.
 *
 * @module
 */
import type { Attempt, ProbeReport } from "../../isolator/mod.ts";

/** One wall's verdict. */
export interface Wall {
  name: string;
  held: boolean;
  detail: string;
}

/** Attempts whose id starts with one of `prefixes`. */
export function pickAttempts(report: ProbeReport | undefined, ...prefixes: string[]): Attempt[] {
  return (report?.attempts ?? []).filter((a) => prefixes.some((p) => a.id.startsWith(p)));
}

/** Up to three attempts in a line, and how many more. */
export function summarize(attempts: Attempt[]): string {
  const shown = attempts.slice(0, 3).map((a) =>
    `${a.id} ${a.succeeded ? "GOT THROUGH" : "refused"} (${a.detail.slice(0, 100)})`
  );
  return [...shown, ...(attempts.length > 3 ? [`and ${attempts.length - 3} more`] : [])].join("; ");
}

/** What one wall is decided on. */
export interface WallEvidence {
  /** The probe's attempts against the wall (`pickAttempts`). */
  attempts: Attempt[];
  /** How many attempts the probe must have reported; fewer fails closed. */
  expected: number;
  /** What the host saw that a breach leaves (empty: nothing). */
  breaches: string[];
  /** The evidence, in words, that the wall held. */
  heldNote: string;
}

/**
 * The common rule: every expected attempt is present and failed, and the
 * host's `breaches` list is empty.
 */
export function decideWall(name: string, evidence: WallEvidence): Wall {
  const { attempts, expected, breaches, heldNote: evidenceNote } = evidence;
  const through = attempts.filter((a) => a.succeeded);
  const problems = [...breaches];
  if (attempts.length < expected) {
    problems.push(`the probe reported ${attempts.length} of ${expected} attempts (fail closed)`);
  }
  if (through.length) problems.push(`the probe got through: ${summarize(through)}`);
  if (problems.length === 0) {
    const sample = attempts.slice(0, 2).map((a) => `${a.id}: ${a.detail.slice(0, 80)}`).join("; ");
    return {
      name,
      held: true,
      detail: `${evidenceNote}; ${attempts.length} attempt(s) refused${
        sample ? ` (${sample}${attempts.length > 2 ? "; …" : ""})` : ""
      }`,
    };
  }
  return { name, held: false, detail: problems.join("; ") };
}
