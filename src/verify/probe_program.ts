/**
 * The probe program: which one a run launches (the way the installation's
 * agent is launched, `src/sandbox/agent_program.ts`), what it may try to
 * start, and which of the sandbox's processes run its code.
 *
 * From source the probe is bundled and run by `deno run` with the agent's
 * flags; a compiled host (a release) runs the compiled `ironclaw-probe`
 * beside it, or a named one, directly, its flags baked in, with no Deno in
 * the sandbox.
 *
 * @module
 */
import { type AgentProgramKind, SANDBOX_AGENT, SANDBOX_DENO } from "../../isolator/mod.ts";
import {
  bundleAgent,
  chooseReleaseExecutable,
  type ReleaseExecutableOptions,
  type ReleaseProgram,
} from "../sandbox/mod.ts";
import { agentSideProcesses, type HostProcess, withDescendants } from "./host_processes.ts";

/** The probe's source entry point. */
export const PROBE_SOURCE = new URL("../../isolator/probe/main.ts", import.meta.url).pathname;

/** The compiled probe's file name, as `deno task compile` writes it beside `ironclaw`. */
export const PROBE_EXECUTABLE_NAME = "ironclaw-probe";

/** The environment variable that names the compiled probe (like `verify --probe-program`). */
export const PROBE_PROGRAM_ENV = "IRONCLAW_PROBE_PROGRAM";

/** The probe program cannot be had as configured (not found, not runnable); the message is one line. */
export class ProbeProgramError extends Error {
  override name = "ProbeProgramError";
}

/** The probe, as a release ships it beside `ironclaw` and `ironclaw-agent`. */
export const PROBE_RELEASE_PROGRAM: ReleaseProgram = {
  name: PROBE_EXECUTABLE_NAME,
  noun: "probe program",
  howToName: `verify --probe-program PATH or $${PROBE_PROGRAM_ENV}`,
  error: ProbeProgramError,
};

/** How the probe is launched: the way the installation's agent is. */
export interface ProbeProgram {
  /** `bundle`: Deno runs the probe's bundle with the agent's flags; `executable`: the compiled probe runs directly. */
  kind: AgentProgramKind;
  /** The compiled probe (absolute, checked runnable by the sandbox's uid), when {@link kind} is `executable`. */
  executable?: string;
  /** One line for the operator: which program, how it runs, and why this one. */
  description: string;
}

/**
 * Chooses the probe program as the agent's is chosen: a named compiled
 * probe (`verify --probe-program`, `$IRONCLAW_PROBE_PROGRAM`), else, in a
 * compiled host, the `ironclaw-probe` beside its executable (a compiled host
 * has no Deno to bundle with; a missing file is a {@link ProbeProgramError}
 * saying where it looked), else the probe bundled from source.
 */
export function chooseProbeProgram(options: ReleaseExecutableOptions = {}): ProbeProgram {
  const way = chooseReleaseExecutable(PROBE_RELEASE_PROGRAM, options);
  if (way.kind === "executable") {
    return {
      kind: "executable",
      executable: way.path,
      description: `${way.path} (the compiled probe, run directly like the compiled agent; ${way.from})`,
    };
  }
  return {
    kind: "bundle",
    description: `${PROBE_SOURCE} bundled with ${Deno.execPath()}, run by deno run with the agent's flags`,
  };
}

/**
 * The programs the probe tries to start: a shell; Deno, which a bundle's
 * sandbox holds at a fixed path; in executable mode the program itself, the
 * one runtime a compiled agent's sandbox surely holds (no Deno is bound in
 * there); and the host's own executable, which must not be reachable.
 */
export function probeSpawnCandidates(kind: AgentProgramKind, hostExecutable = Deno.execPath()): string[] {
  return kind === "executable"
    ? ["/bin/sh", "/usr/bin/sh", SANDBOX_AGENT, SANDBOX_DENO, hostExecutable]
    : ["/bin/sh", "/usr/bin/sh", SANDBOX_DENO, hostExecutable];
}

/**
 * Among the sandbox's processes (`procs`), those that run the probe's code:
 * Deno or gVisor's (see `agentSideProcesses`) and, in executable mode, the
 * compiled program, which runs under its own name at its fixed path rather
 * than as `deno` (its launchers, which name that path as a bind target, are
 * not it); with all their descendants.
 */
export function probeProcesses(procs: HostProcess[], kind: AgentProgramKind): HostProcess[] {
  const agentSide = agentSideProcesses(procs);
  if (kind !== "executable") return agentSide;
  const seeds = new Map(
    [...agentSide, ...procs.filter((p) => p.argv[0] === SANDBOX_AGENT)].map((p) => [p.pid, p]),
  );
  return withDescendants([...seeds.values()], procs);
}

/** Bundles the probe into one `.js` file in `dir` (as the agent is bundled), returning its path. */
export function probeProgram(dir: string): Promise<string> {
  return bundleAgent(dir, PROBE_SOURCE);
}
