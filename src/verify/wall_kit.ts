/**
 * A wall kit: one group of `ironclaw verify`'s walls, with everything the
 * host needs to decide them. A run ({@link WallRun}) arms every kit before
 * the probe starts, lets each look while the probe holds its resources, and
 * asks each for its walls once the sandbox has ended. The walls are the
 * kits' walls in the order of `WALL_KITS` (`wall_kits.ts`).
 *
 * ## Adding a wall
 *
 * 1. **The attack**, in the probe (`isolator/probe/main.ts`): attempts with
 *    ids under a prefix of their own (`egress.`, `audit.`…). If the probe
 *    must know where to aim (a socket, a port, a file), add an optional field
 *    to `ProbeTargets` (`isolator/probe/report.ts`).
 * 2. **The kit**, one file `src/verify/<name>_walls.ts` exporting a
 *    {@link WallKit}:
 *    - `arm(run)`: plant the target and start the host-side witness (a
 *      counting listener, a decoy secret, the real broker on a socket in
 *      `run.stage.dirs.socketDir`…), hand every cleanup to `run.defer`, and
 *      return the `targets` fields the probe needs;
 *    - `whileHeld(look)` (optional): what must be seen while the probe holds
 *      its resources (its processes are in `look.agents`);
 *    - `decide(end)`: the walls, each decided from the host's own evidence
 *      with `decideWall` and `pickAttempts` (`verdict.ts`) (every expected attempt present and refused,
 *      no breach seen; a missing attempt fails closed).
 * 3. **One line** in `WALL_KITS` (`wall_kits.ts`); a kit whose code imports
 *    this engine (the web console's, `src/api/console_walls.ts`) is handed in
 *    by `ironclaw verify` instead (`VerifyOptions.kits`).
 * 4. The wall's name in `tests/redteam/verify_test.ts` (`ALL_WALLS`, and in
 *    `EXPECTED_FALLEN` for a backend that does not provide it), and a row in
 *    `docs/threat-model.md`.
 *
 * @module
 */
import type {
  Isolator,
  IsolatorKind,
  Limits,
  ProbeReport,
  ProbeTargets,
  SandboxMount,
  Volume,
} from "../../isolator/mod.ts";
import type { HostProcess } from "./host_processes.ts";
import type { ProbeProgram } from "./probe_program.ts";
import type { Stage } from "./stage.ts";
import type { Wall } from "./verdict.ts";

/** What a kit is given to arm itself: the run so far. */
export interface WallRun {
  /** The run's temporary sandbox root (removed after the run). */
  root: string;
  /** The disk `root` is on: the run's own (size-limited) where loop mounts can be had, or the host's and why. */
  disk: Volume;
  /** Where the backend puts its copies of session keys. */
  keyRoot: string;
  /** The throwaway session and its neighbours. */
  stage: Stage;
  /** How the probe is launched, and the program file the sandbox runs. */
  probe: ProbeProgram;
  program: string;
  /** The limits the sandbox is launched with. */
  limits: Limits;
  /** The backend itself (a kit may launch a sandbox of its own, as the spare kit does). */
  backend: Isolator;
  /** libsqlcipher. */
  library: string;
  /** The operator's state directory, when verifying an installation. */
  stateDir?: string;
  /** The backend under attack. */
  isolator: IsolatorKind;
  /** Registers a cleanup, run (in reverse order of registration) when the run ends, even on failure. */
  defer(cleanup: () => unknown): void;
}

/** The host's look while the probe holds its resources. */
export interface HeldLook {
  /** The probe's report so far (a claim only). */
  report?: ProbeReport;
  /** Every host process of the sandbox, and those running the probe's code. */
  procs: HostProcess[];
  agents: HostProcess[];
  /** Whether the sandbox had already ended. */
  exited: boolean;
}

/** How the run ended. */
export interface EndLook {
  /** The probe's last report (a claim only). */
  report?: ProbeReport;
  exit?: { code: number | null; signal?: string };
  /** The sandbox's log. */
  log: string;
}

/** An armed kit. */
export interface ArmedWalls {
  /** The fields of the probe's targets this kit fills. */
  targets?: Partial<ProbeTargets>;
  /** Approved mounts the probe's sandbox is launched with (bound as a group's are). */
  mounts?: SandboxMount[];
  whileHeld?(look: HeldLook): Promise<void> | void;
  decide(end: EndLook): Promise<Wall[]> | Wall[];
}

/** One group of walls (see the module doc for how to add one). */
export interface WallKit {
  name: string;
  arm(run: WallRun): Promise<ArmedWalls> | ArmedWalls;
}
