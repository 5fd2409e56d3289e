/**
 * Walls a backend cannot prove. The kubernetes backend runs the probe in a
 * Pod the host (the node agent) only sees through the API: the host-side
 * evidence most walls rest on (the sandbox's processes and their
 * namespaces, connections to listeners in the host's network namespace,
 * access times of planted files) is not observed from there, and against a
 * fake API server no probe runs at all. Such a wall is never "held": it is
 * reported as not proven, with the reason, and fails the run like a fallen
 * one. A wall the probe reports breached stays fallen.
 *
 * @module
 */
import type { EndLook } from "./wall_kit.ts";
import type { Wall } from "./verdict.ts";

/** How a not-proven wall's detail begins (inside the signed detail, so a report cannot be relabelled). */
export const NOT_PROVEN = "not proven: ";

/** Whether `wall` was not proven (as opposed to held, or fallen). */
export function isNotProven(wall: Wall): boolean {
  return !wall.held && wall.detail.startsWith(NOT_PROVEN);
}

/** The last non-empty line of a log, for a reason. */
function lastLine(log: string): string | undefined {
  return log.split("\n").map((l) => l.trim()).filter(Boolean).at(-1);
}

/**
 * The walls as a backend without host observations must report them: with
 * no probe report, every wall not proven (the probe never ran, with how the
 * sandbox ended); with one, a held wall becomes not proven (its refusals are
 * the probe's claims only) and a fallen wall stays fallen.
 */
export function withoutHostObservations(walls: readonly Wall[], end: EndLook): Wall[] {
  if (!end.report) {
    const ended = end.exit
      ? `the sandbox ended with ${
        end.exit.code === null ? end.exit.signal ?? "a signal" : `exit ${end.exit.code}`
      }`
      : "the sandbox never ended";
    const said = lastLine(end.log);
    const reason =
      `the probe never reported from the Pod (${ended}${said ? `: ${said}` : ""}); no attempt was made ` +
      "and nothing was observed";
    return walls.map((w) => ({ name: w.name, held: false, detail: `${NOT_PROVEN}${reason}` }));
  }
  return walls.map((w) =>
    w.held
      ? {
        name: w.name,
        held: false,
        detail:
          `${NOT_PROVEN}the probe's attempts were refused, but the host evidence this wall needs is not ` +
          "observed through the kubernetes backend (run verify on the node: docs/scale-out.md)",
      }
      : w
  );
}
