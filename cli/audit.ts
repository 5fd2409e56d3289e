/**
 * `ironclaw audit`: the gateway's hash-chained audit log, read through the API,
 * and `audit verify`, online or straight from the file with no server.
 *
 * @module
 */
import type { Command } from "commander";
import type { AuditEntry } from "../contract/mod.ts";
import {
  AUDIT_LOG_FILE,
  importAuditKey,
  stateAuditAnchor,
  verifyAuditFile,
  type VerifyResult,
} from "../src/audit/mod.ts";
import { resolveLibraryPath } from "../contract/sqlite/mod.ts";
import { AUDIT_KEY_ID, STATE_DB_KEY_ID } from "../src/keys/mod.ts";
import { STATE_DB_FILE, StateDb } from "../src/state/mod.ts";
import { openStateKeys, type PassphraseFlags, withPassphraseFlag } from "./key_custody.ts";
import { defaultStateDir } from "../src/control_plane/mod.ts";
import type { InferResponseType } from "hono/client";
import type { ApiRpc } from "../src/api/mod.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { CliError } from "./errors.ts";
import { type CliIo, type Column, printJson, printListing } from "./output.ts";

/** Most entries one `audit` call asks for (the API's cap). */
export const MAX_AUDIT_LIMIT = 2000;

/** Parses `--limit`: a whole number from 1 to {@linkcode MAX_AUDIT_LIMIT}. */
export function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > MAX_AUDIT_LIMIT) {
    throw new CliError(
      `--limit must be a whole number from 1 to ${MAX_AUDIT_LIMIT}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

const AUDIT_COLUMNS: Column<AuditEntry>[] = [
  { header: "TIME", cell: (e) => e.time },
  { header: "STAGE", cell: (e) => e.stage },
  { header: "CHANGE", cell: (e) => e.changeId },
  { header: "KIND", cell: (e) => e.kind },
  { header: "DETAIL", cell: (e) => e.detail },
];

/** The API's verify answer (the offline result also carries the head hash). */
type VerifyAnswer = InferResponseType<ApiRpc["v1"]["audit"]["verify"]["$get"], 200>;

/**
 * Verifies the audit log of `stateDir` directly, with no server: under the
 * audit key, against the anchor in the state database (opening the keys asks
 * for the passphrase when the master key is under one).
 */
export async function verifyOffline(
  stateDir: string,
  keys: { flags?: PassphraseFlags; interactive?: boolean } = {},
): Promise<VerifyResult> {
  const path = `${stateDir}/${AUDIT_LOG_FILE}`;
  requireState(stateDir);
  const custodian = await openStateKeys(stateDir, {
    flags: keys.flags ?? {},
    interactive: keys.interactive ?? false,
  });
  const [auditKey, stateKey] = custodian
    ? await Promise.all([custodian.get(AUDIT_KEY_ID), custodian.get(STATE_DB_KEY_ID)])
    : [];
  let anchor;
  if (stateKey) {
    using state = StateDb.open(stateDir, { library: resolveLibraryPath(), key: stateKey });
    anchor = stateAuditAnchor(state).read();
  }
  return await verifyAuditFile(path, { key: auditKey && await importAuditKey(auditKey), anchor });
}

/**
 * Throws one line when `stateDir` holds no IronClaw state (a mistyped
 * `--state-dir`), rather than letting the missing files read as a broken
 * audit chain.
 */
export function requireState(stateDir: string): void {
  const holds = (name: string) => {
    try {
      Deno.statSync(`${stateDir}/${name}`);
      return true;
    } catch {
      return false;
    }
  };
  if (!holds(STATE_DB_FILE) && !holds(AUDIT_LOG_FILE)) {
    throw new CliError(
      `no IronClaw state here: ${stateDir} holds no ${STATE_DB_FILE} or ${AUDIT_LOG_FILE} ` +
        `(--state-dir names the directory \`ironclaw serve\` uses; default ${defaultStateDir()})`,
    );
  }
}

/** The one line a verification result is reported as. */
export function describeVerification(result: VerifyAnswer, where: string): string {
  if (result.ok) {
    const legacy = result.legacyLines
      ? `; the first ${result.legacyLines} from before keying (plain SHA-256, not proof against the file's writer)`
      : "";
    const head = result.head
      ? `, head ${result.head}${result.anchored ? " (matches the state database)" : ""}`
      : "";
    return `audit chain ok: ${result.lines} line${
      result.lines === 1 ? "" : "s"
    } verified${head}${legacy} (${where})`;
  }
  return result.line === 0
    ? `audit chain broken (${where}): ${result.reason}`
    : `audit chain broken at line ${result.line} (${where}): ${result.reason}`;
}

/** Registers `audit` and `audit verify` on `program`. */
export function registerAuditCommands(program: Command, io: CliIo): void {
  const audit = withClientFlags(
    program.command("audit")
      .description("show the gateway audit log (most recent last)")
      .option("--limit <n>", `how many of the latest entries (1-${MAX_AUDIT_LIMIT})`, parseLimit, 100)
      .option("--json", "machine-readable output"),
  ).action(async (opts: ClientFlags & { limit: number; json?: boolean }) => {
    const rows = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.audit.$get({ query: { limit: String(opts.limit) } })
    );
    printListing(io, opts, rows, AUDIT_COLUMNS, "The audit log is empty.");
  });

  withClientFlags(withPassphraseFlag(
    audit.command("verify")
      .description(
        "check the audit log's keyed chain and the head the state database holds " +
          "(through the API, or the files themselves with --offline)",
      )
      .option("--offline", "read <state-dir>/audit.jsonl and the state database directly; no server needed")
      .option("--json", "machine-readable output"),
  )).action(async (opts: ClientFlags & PassphraseFlags & { offline?: boolean; json?: boolean }) => {
    let result: VerifyAnswer;
    let where: string;
    if (opts.offline) {
      const stateDir = opts.stateDir ?? defaultStateDir();
      where = `${stateDir}/${AUDIT_LOG_FILE}`;
      result = await verifyOffline(stateDir, { flags: opts, interactive: io.interactive });
    } else {
      const client = ApiClient.fromFlags(opts);
      where = client.baseUrl;
      result = await client.call((api) => api.v1.audit.verify.$get());
    }
    if (opts.json) printJson(io, result);
    else if (result.ok) io.out(describeVerification(result, where));
    if (!result.ok) throw new CliError(describeVerification(result, where), 2);
  });
}
