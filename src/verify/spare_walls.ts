/**
 * The warm-spare walls. The kit boots a second probe as a warm spare,
 * exactly as the sandbox manager boots one (its own empty directories from
 * `spareDirs`, an empty key file, a claim socket), lets it look around, then
 * claims it for the run's claimant session with the manager's own move
 * (`claimInto`) and hands it the claimant's key over the claim socket.
 * Targets: another session's queue files (the run's main session and its
 * sibling) and the sibling's key file, armed for access-time evidence.
 *
 * - `spare-before-claim`: held when the spare's key file was empty, its
 *   queue and workspace directories were empty, it read none of the targets
 *   (its attempts refused, their access times untouched), and it left
 *   nothing in its directories before the claim.
 * - `spare-after-claim`: held when the claim worked (the spare read its own,
 *   the claimant's, inbound queue and received the claimant's key, no
 *   other), and it still read none of the targets.
 *
 * Warm spares are booted under runsc and bwrap only: elsewhere both walls
 * are reported not proven.
 *
 * @module
 */
import { type ProbeReport, SANDBOX_GID, SANDBOX_UID, TARGETS_FLAG } from "../../isolator/mod.ts";
import {
  claimInto,
  ClaimSocket,
  makeSpareDirs,
  sessionDirs,
  spareDirs,
  spareLaunchDirs,
  unexpectedEntries,
} from "../sandbox/mod.ts";
import { armAccessTime, sha256Hex, wasRead } from "./file_evidence.ts";
import { NOT_PROVEN } from "./not_proven.ts";
import type { ArmedWalls, WallKit, WallRun } from "./wall_kit.ts";
import { decideWall, pickAttempts, type Wall } from "./verdict.ts";

/** The spare kit. */
export const spareWalls: WallKit = { name: "spare", arm };

const WALLS = ["spare-before-claim", "spare-after-claim"] as const;
const BOOT_MS = 120_000;
const REPORT_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readReport(path: string): ProbeReport | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(path));
  } catch {
    return undefined;
  }
}

async function arm(run: WallRun): Promise<ArmedWalls> {
  const { stage, backend: isolator } = run;
  if (isolator.kind !== "runsc" && isolator.kind !== "bwrap") {
    const walls = WALLS.map((name) => ({
      name,
      held: false,
      detail: `${NOT_PROVEN}warm spares are booted under runsc and bwrap only, not ${isolator.kind}`,
    }));
    return { decide: () => walls };
  }
  const readTargets = [
    stage.sibling.queue.inbound,
    stage.sibling.queue.outbound,
    stage.sibling.keyFile,
    stage.queue.inbound,
    stage.queue.outbound,
  ];
  for (const path of readTargets) armAccessTime(path);
  const id = `spare-${stage.nonce}`;
  const dirs = spareDirs(id, {
    root: run.root,
    sessionsRoot: `${run.root}/queues`,
    agentGroupId: stage.agentGroupId,
    // The claimant's outbound queue stays in its session directory (the run gives it no outbox home).
    outboxLimited: false,
    ownMemory: false,
  });
  // As root the spare runs as the sandbox's uid, as the control plane arranges it.
  makeSpareDirs(dirs, Deno.uid() === 0 ? { uid: SANDBOX_UID, gid: SANDBOX_GID } : undefined);
  const claim = await ClaimSocket.open(dirs.socketDir);
  run.defer(() => claim.close());
  const breaches: Record<(typeof WALLS)[number], string[]> = {
    "spare-before-claim": [],
    "spare-after-claim": [],
  };
  const handle = await isolator.launch({
    sessionId: id,
    ...spareLaunchDirs(dirs),
    library: run.library,
    denoPath: Deno.execPath(),
    program: run.program,
    args: [`${TARGETS_FLAG}=${JSON.stringify({ nonce: stage.nonce, spare: { readTargets } })}`],
    limits: run.limits,
  });
  run.defer(() => handle.stop());
  let ended = false;
  handle.exited.then(() => ended = true, () => ended = true);
  // The spare connects once it has looked around: then it waits for its claim.
  await Promise.race([claim.waiting, handle.exited, sleep(BOOT_MS)]);
  for (const path of readTargets) if (wasRead(path)) breaches["spare-before-claim"].push(`${path} was read`);
  const left = unexpectedEntries(dirs);
  if (left.length) {
    breaches["spare-before-claim"].push(`it left ${left.slice(0, 3).join(", ")} before its claim`);
  }

  const claimant = stage.claimant;
  const to = sessionDirs(run.root, claimant.sessionId, stage.agentGroupId);
  let report: ProbeReport | undefined;
  if (!ended && left.length === 0) {
    claimInto(dirs, {
      sessionId: claimant.sessionId,
      pairs: [
        { from: dirs.inboundDir, to: claimant.queue.inboundDir, keep: true },
        { from: dirs.outboundDir, to: claimant.queue.outboundDir, keep: true },
        { from: dirs.workspaceDir, to: to.workspaceDir, keep: true },
        { from: dirs.socketDir, to: to.socketDir, keep: false },
      ],
    });
    await claim.hand(claimant.key, BOOT_MS).catch(() => {});
    const reportPath = `${claimant.queue.outboundDir}/probe-report.json`;
    const deadline = Date.now() + REPORT_MS;
    while (!ended && Date.now() < deadline && readReport(reportPath)?.phase !== "spare-done") await sleep(50);
    report = readReport(reportPath);
  }
  await handle.stop();
  if (!report) {
    const log = await Deno.readTextFile(handle.logPath).catch(() => "");
    const said = log.split("\n").map((l) => l.trim()).filter(Boolean).at(-1) ?? "nothing in its log";
    for (const wall of WALLS) breaches[wall].push(`the spare never reported (${said.slice(0, 200)})`);
  }
  for (const path of readTargets) if (wasRead(path)) breaches["spare-after-claim"].push(`${path} was read`);
  const claimed = report?.attempts.find((a) => a.id === "spare-control.claim");
  const own = report?.attempts.find((a) => a.id === "spare-control.own-inbound");
  if (!own?.succeeded) {
    breaches["spare-after-claim"].push(
      `the spare could not read its own queue after the claim, so nothing was tested`,
    );
  }
  if (claimed?.data?.keySha256 !== await sha256Hex(claimant.key.slice())) {
    breaches["spare-after-claim"].push("the spare did not receive its claimant's key, and only that");
  }
  const walls: Wall[] = [
    decideWall("spare-before-claim", {
      attempts: pickAttempts(report, "spare.before."),
      expected: 4 + 2 * readTargets.length,
      breaches: breaches["spare-before-claim"],
      heldNote: "a booted spare had an empty key file, empty directories and no other session's files",
    }),
    decideWall("spare-after-claim", {
      attempts: pickAttempts(report, "spare.after."),
      expected: 2 * readTargets.length,
      breaches: breaches["spare-after-claim"],
      heldNote:
        "claimed, the spare read its own queue with its claimant's key and still no other session's files",
    }),
  ];
  return { decide: () => walls };
}
