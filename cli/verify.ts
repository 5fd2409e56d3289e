/**
 * `ironclaw verify`: attacks the sandbox from the inside with the adversarial
 * probe, under the isolator agents would get, and prints which walls held.
 * Exits non-zero when any wall falls. The outcome is written as a report
 * signed under the host's report key, which `ironclaw verify --check FILE`
 * checks later.
 *
 * The probe is launched the way this installation launches its agent: from
 * source, bundled and run by `deno run` with the agent's flags; from a
 * release (a compiled `ironclaw`), the compiled `ironclaw-probe` beside it,
 * run directly with the agent's flags baked in. `--probe-program FILE` (or
 * `$IRONCLAW_PROBE_PROGRAM`) names a compiled probe either way.
 *
 * @module
 */
import type { Command } from "commander";
import { type IsolatorKind, selectIsolator } from "../isolator/mod.ts";
import { defaultStateDir } from "../src/control_plane/mod.ts";
import { consoleWalls } from "../src/api/mod.ts";
import { MASTER_KEY_FILE } from "../src/keys/mod.ts";
import { openStateKeys, withPassphraseFlag } from "./key_custody.ts";
import {
  checkReport,
  chooseProbeProgram,
  isNotProven,
  keptReportPath,
  NOT_PROVEN,
  PROBE_PROGRAM_ENV,
  PROBE_SOURCE,
  type ProbeProgram,
  reportProbe,
  signReport,
  verify,
  type VerifyResult,
  type VerifyRun,
  type Wall,
} from "../src/verify/mod.ts";
import { CliError, describeError } from "./errors.ts";
import { type CliIo, printJson, processIo, renderTable } from "./output.ts";
import { type NamedProgram, namedProgram } from "./named_program.ts";

const KINDS = ["auto", "runsc", "bwrap", "process", "kubernetes"] as const;

/** `verify`'s flags. */
export interface VerifyFlags {
  isolator: (typeof KINDS)[number];
  runscPlatform: "ptrace" | "kvm";
  stateDir?: string;
  report?: string;
  check?: string;
  json?: boolean;
  verbose?: boolean;
  probeProgram?: string;
  passphraseFile?: string;
}

/** Where the probe program is named, if anywhere: `--probe-program`, else `$IRONCLAW_PROBE_PROGRAM`. */
export function probeExecutableOption(flags: VerifyFlags): NamedProgram {
  return namedProgram(flags.probeProgram, "--probe-program", PROBE_PROGRAM_ENV);
}

/** The probe line: which program ran the attacks, and how. */
export function describeProbe(probe: ProbeProgram): string {
  return `probe program: ${probe.description}`;
}

/** The probe as `--json` reports it: the mode, the program (the compiled probe, or the source bundled). */
export function probeJson(probe: ProbeProgram): { mode: string; program: string; description: string } {
  return { ...reportProbe(probe, PROBE_SOURCE), description: probe.description };
}

/** The isolator line: its kind, with runsc's platform, and its strength. */
export function describeIsolator(result: VerifyResult, platform: string): string {
  const { kind, strength } = result.isolator;
  const name = kind === "runsc"
    ? `runsc (gVisor, platform ${platform})`
    : kind === "bwrap"
    ? "bwrap (Linux namespaces)"
    : kind === "kubernetes"
    ? "kubernetes (gVisor Pods through the cluster's RuntimeClass)"
    : "process (NO SANDBOX: Deno permissions only)";
  return `isolator: ${name}, strength ${strength}`;
}

/** The width `verify`'s table fits when standard output is no terminal. */
export const DEFAULT_TABLE_WIDTH = 100;

/** The terminal's width, or {@link DEFAULT_TABLE_WIDTH} when standard output is not one. */
export function terminalWidth(): number {
  try {
    return Deno.stdout.isTerminal() ? Deno.consoleSize().columns : DEFAULT_TABLE_WIDTH;
  } catch {
    return DEFAULT_TABLE_WIDTH;
  }
}

const wallStatus = (w: Wall) => (w.held ? "held" : isNotProven(w) ? "NOT PROVEN" : "FALLEN");

/**
 * The walls as table lines: wall, held/FALLEN/NOT PROVEN, and the detail cut
 * so each row fits `width` columns (whole with `verbose`; `--json` has it
 * whole too). A wall that did not hold keeps its whole detail on the lines
 * after the table: that is what the operator must read.
 */
export function wallTable(
  result: VerifyResult,
  options: { width?: number; verbose?: boolean } = {},
): string[] {
  const width = options.width ?? DEFAULT_TABLE_WIDTH;
  const fixed = Math.max(...result.walls.map((w) => w.name.length), 4) +
    Math.max(...result.walls.map((w) => wallStatus(w).length), 6) + 4;
  const room = width - fixed;
  const cut = (text: string) => {
    const flat = text.replace(/\s+/g, " ");
    return options.verbose || flat.length <= room ? flat : `${flat.slice(0, Math.max(0, room - 1))}…`;
  };
  const table = renderTable([
    { header: "WALL", cell: (w: Wall) => w.name },
    { header: "STATUS", cell: wallStatus },
    ...(options.verbose || room >= 12 ? [{ header: "DETAIL", cell: (w: Wall) => cut(w.detail) }] : []),
  ], result.walls);
  const failed = options.verbose ? [] : result.walls.filter((w) => !w.held);
  return [...table, ...failed.map((w) => `${w.name} ${wallStatus(w)}: ${w.detail}`)];
}

/** The one line that sums the run up: "18/18 walls held", with what fell or is not proven. */
export function wallSummary(result: VerifyResult): string {
  const held = result.walls.filter((w) => w.held).length;
  const fallen = result.walls.filter((w) => !w.held && !isNotProven(w)).length;
  const unproven = result.walls.filter(isNotProven).length;
  return [
    `${held}/${result.walls.length} walls held`,
    ...(fallen ? [`${fallen} FALLEN`] : []),
    ...(unproven ? [`${unproven} NOT PROVEN`] : []),
  ].join(", ");
}

async function resolveKind(flags: VerifyFlags, probe: ProbeProgram): Promise<IsolatorKind> {
  if (flags.isolator !== "auto") return flags.isolator;
  const stateDir = Deno.makeTempDirSync({ prefix: "ironclaw-verify-select-" });
  try {
    // Each backend's check smoke-runs the program the probe will be: the compiled probe, or Deno.
    const agentExecutable = probe.kind === "executable" ? { agentExecutable: probe.executable } : {};
    return (await selectIsolator("auto", { stateDir, platform: flags.runscPlatform, ...agentExecutable }))
      .isolator.kind;
  } catch (err) {
    throw new CliError(`verify: ${describeError(err)}`);
  } finally {
    Deno.removeSync(stateDir, { recursive: true });
  }
}

/** `verify --check FILE`: one line, and a failure when the signature does not hold. */
async function runCheck(flags: VerifyFlags, io: CliIo): Promise<void> {
  const stateDir = flags.stateDir ?? defaultStateDir();
  const custodian = await openStateKeys(stateDir, { flags, interactive: io.interactive });
  if (!custodian) {
    throw new CliError(`${stateDir} holds no ${MASTER_KEY_FILE}: pass --state-dir of the signing host`);
  }
  let text: string;
  try {
    text = await Deno.readTextFile(flags.check!);
  } catch (err) {
    throw new CliError(`cannot read ${flags.check}: ${describeError(err)}`);
  }
  const outcome = await checkReport(text, custodian);
  if (!outcome.ok) throw new CliError(`report ${flags.check}: ${outcome.reason}`);
  const r = outcome.report;
  const held = r.walls.filter((w) => w.held).length;
  if (flags.json) {
    return printJson(io, {
      ok: true,
      createdAt: r.createdAt,
      isolator: r.isolator.kind,
      ...(r.probe ? { probe: r.probe } : {}),
      held: r.held,
    });
  }
  // Version 1 reports did not record the probe.
  const probe = r.probe ? `probe ${r.probe.mode} ${r.probe.program}` : "probe not recorded";
  io.out(
    `report ${flags.check}: signature ok (isolator ${r.isolator.kind}, ${probe}, ` +
      `${held}/${r.walls.length} walls held, ${r.createdAt})`,
  );
}

/** Registers `verify` on `program`. */
export function registerVerifyCommand(program: Command, io: CliIo = processIo()): void {
  const command = program.command("verify")
    .description("attack a sandbox from inside with the adversarial probe and show which walls hold")
    .option(
      "--isolator <kind>",
      "auto, runsc, bwrap, process or kubernetes (a Pod on this node through $KUBECONFIG or in-cluster)",
      "auto",
    )
    .option("--runsc-platform <platform>", "gVisor platform: ptrace or kvm", "ptrace")
    .option(
      "--state-dir <dir>",
      "the state directory whose master key signs reports (default: the standard one)",
    )
    .option(
      "--report <file>",
      "write the signed report here too (it is always kept in <state-dir>/verify-reports/)",
    )
    .option("--check <file>", "check a signed report's signature instead of running")
    .option(
      "--probe-program <file>",
      `the compiled ironclaw-probe to run directly (default: $${PROBE_PROGRAM_ENV}; beside a compiled ironclaw; ` +
        "else bundled from source)",
    )
    .option("--verbose", "each wall's whole detail in the table (rows no longer fit the terminal)")
    .option("--json", "machine-readable output (progress still goes to standard error)");
  withPassphraseFlag(command).action(async (flags: VerifyFlags) => {
    if (!(KINDS as readonly string[]).includes(flags.isolator)) {
      throw new CliError(
        `--isolator must be one of ${KINDS.join(", ")}, got ${JSON.stringify(flags.isolator)}`,
      );
    }
    if (flags.runscPlatform !== "ptrace" && flags.runscPlatform !== "kvm") {
      throw new CliError(
        `--runsc-platform must be ptrace or kvm, got ${JSON.stringify(flags.runscPlatform)}`,
      );
    }
    if (flags.check) return await runCheck(flags, io);

    // Before anything runs: a release without its probe stops here, in one line saying where it looked.
    let probe: ProbeProgram;
    try {
      probe = chooseProbeProgram(probeExecutableOption(flags));
    } catch (err) {
      throw new CliError(describeError(err));
    }
    const stateDir = flags.stateDir ?? defaultStateDir();
    const kind = await resolveKind(flags, probe);
    let result: VerifyRun;
    try {
      result = await verify({
        isolator: kind,
        stateDir,
        probe,
        backend: { platform: flags.runscPlatform },
        kits: [consoleWalls],
        // On standard error, so standard output stays the table (or the JSON).
        onProgress: (step) => io.err(`verify: ${step}`),
      });
    } catch (err) {
      throw new CliError(`verify: ${describeError(err)}`);
    }

    const custodian = await openStateKeys(stateDir, { flags, interactive: io.interactive });
    let reportPath: string | undefined;
    if (custodian) {
      const signed = await signReport(result, reportProbe(result.probe, PROBE_SOURCE), custodian);
      const text = `${JSON.stringify(signed, null, 2)}\n`;
      // Always kept in the state directory too: the console's Isolation page shows the newest one.
      const kept = keptReportPath(stateDir, signed);
      reportPath = flags.report ?? kept;
      for (const path of new Set([kept, reportPath])) {
        const dir = path.replace(/\/[^/]*$/, "");
        if (dir && dir !== path) await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
        await Deno.writeTextFile(path, text, { mode: 0o600 });
      }
    } else if (flags.report) {
      throw new CliError(
        `cannot sign ${flags.report}: ${stateDir} holds no ${MASTER_KEY_FILE} (pass --state-dir)`,
      );
    }

    if (flags.json) {
      printJson(io, {
        isolator: kind === "runsc" ? `runsc/${flags.runscPlatform}` : kind,
        probe: probeJson(result.probe),
        walls: result.walls,
        ...(reportPath ? { report: reportPath } : {}),
      });
    } else {
      io.out(describeIsolator(result, flags.runscPlatform));
      io.out(describeProbe(result.probe));
      for (const line of wallTable(result, { width: terminalWidth(), verbose: flags.verbose })) io.out(line);
      io.out(wallSummary(result));
      io.out(
        reportPath
          ? `signed report: ${reportPath} (check with: ironclaw verify --check ${reportPath})`
          : `no signed report: ${stateDir} holds no ${MASTER_KEY_FILE} (pass --state-dir)`,
      );
    }
    const fallen = result.walls.filter((w) => !w.held && !isNotProven(w));
    const unproven = result.walls.filter(isNotProven);
    const count = (walls: unknown[], what: string) =>
      `${walls.length} wall${walls.length === 1 ? "" : "s"} ${what} under ${kind}`;
    if (fallen.length || unproven.length) {
      // Not proven fails like fallen: nothing is vouched for without the host's own observations.
      throw new CliError([
        ...(fallen.length ? [`${count(fallen, "fell")}: ${fallen.map((w) => w.name).join(", ")}`] : []),
        ...(unproven.length
          ? [`${count(unproven, "not proven")}: ${unproven[0].detail.slice(NOT_PROVEN.length)}`]
          : []),
      ].join("; "));
    }
  });
}
