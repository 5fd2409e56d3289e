/**
 * `ironclaw doctor`: checks an installation, one line each, with a fix hint
 * on every failure; exits non-zero when any check fails.
 *
 * @module
 */
import type { Command } from "commander";
import { checkChannel, withChannels } from "./channel.ts";
import { Database, resolveLibraryPath } from "../contract/sqlite/mod.ts";
import { AUDIT_LOG_FILE } from "../src/audit/mod.ts";
import {
  defaultStateDir,
  MODEL_PROVIDERS,
  type ModelConfig,
  modelKeyEnv,
  readModelConfig,
} from "../src/control_plane/mod.ts";
import { checkModelCredential } from "./model_check.ts";
import { inspectMasterKeyFile, MASTER_KEY_FILE, MasterKeyError } from "../src/keys/mod.ts";
import { describeCustody, type PassphraseFlags, withPassphraseFlag } from "./key_custody.ts";
import { AgentProgram, chooseIsolator } from "../src/sandbox/mod.ts";
import { describeVerification, requireState, verifyOffline } from "./audit.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { CliError, describeError } from "./errors.ts";
import { agentExecutableOption } from "./serve.ts";
import { type CliIo, printJson } from "./output.ts";

/** One check's outcome. */
export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  /** How to fix a failure. */
  fix?: string;
}

type Outcome = Omit<CheckResult, "name">;

const pass = (detail: string): Outcome => ({ ok: true, detail });
const fail = (detail: string, fix: string): Outcome => ({ ok: false, detail, fix });

/** libsqlcipher loads, keys a database and reports its cipher version. */
export function checkSqlcipher(library: string = resolveLibraryPath()): Outcome {
  try {
    using db = Database.open(":memory:", {
      library,
      key: crypto.getRandomValues(new Uint8Array(32)),
      create: true,
    });
    const version = Object.values(db.get("PRAGMA cipher_version") ?? {})[0];
    if (typeof version !== "string" || !version) {
      return fail(`${library} loads but reports no cipher version (not SQLCipher?)`, rebuildHint);
    }
    return pass(`SQLCipher ${version} (${library})`);
  } catch (err) {
    return fail(`cannot load ${library}: ${describeError(err)}`, rebuildHint);
  }
}

const rebuildHint = "run `scripts/deno task setup`, or set IRONCLAW_SQLCIPHER_LIB to a libsqlcipher.so";
const createHint = (dir: string) => `run \`ironclaw serve --state-dir ${dir}\` once to create it`;

/** The state directory exists and is owner-only (0700). */
export function checkStateDir(stateDir: string): Outcome {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(stateDir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return fail(`${stateDir} does not exist`, createHint(stateDir));
    return fail(`${stateDir}: ${describeError(err)}`, `check the permissions of ${stateDir}`);
  }
  if (!info.isDirectory) {
    return fail(`${stateDir} is not a directory`, "pass --state-dir of a state directory");
  }
  const mode = (info.mode ?? 0) & 0o777;
  if (mode !== 0o700) {
    return fail(`${stateDir} has mode ${octal(mode)}, not 0700`, `chmod 700 ${stateDir}`);
  }
  return pass(`${stateDir} (0700)`);
}

/**
 * The master key file is present, owner-only (0600) and well-formed, and its
 * custody mode is named (file custody passes, labelled weak: it is the dev mode).
 */
export async function checkMasterKey(stateDir: string): Promise<Outcome> {
  const path = `${stateDir}/${MASTER_KEY_FILE}`;
  try {
    const found = await inspectMasterKeyFile(path);
    found.bytes.fill(0);
    return pass(`${path} (0600), custody ${describeCustody(found.custody)}`);
  } catch (err) {
    const message = describeError(err);
    if (!(err instanceof MasterKeyError)) return fail(message, `check the permissions of ${path}`);
    if (err.kind === "missing") return fail(message, createHint(stateDir));
    if (err.kind === "permissions") return fail(message, `chmod 600 ${path}`);
    return fail(message, "restore the master key file from your backup");
  }
}

/** The audit log's hash chain verifies. */
export async function checkAuditChain(
  stateDir: string,
  keys: { flags?: PassphraseFlags; interactive?: boolean } = {},
): Promise<Outcome> {
  const where = `${stateDir}/${AUDIT_LOG_FILE}`;
  try {
    requireState(stateDir);
  } catch (err) {
    return fail((err as Error).message, createHint(stateDir));
  }
  try {
    const result = await verifyOffline(stateDir, keys);
    if (result.ok) return pass(describeVerification(result, where));
    if (result.line === 0) return fail(describeVerification(result, where), createHint(stateDir));
    return fail(
      describeVerification(result, where),
      "the log was altered or torn: keep a copy for investigation and restore it from backup",
    );
  } catch (err) {
    // Opening the keys failed (a passphrase is needed, or the given one is wrong): the message says which.
    if (err instanceof CliError) {
      return fail(err.message, "give doctor the master-key passphrase (--passphrase-file FILE)");
    }
    return fail(`${where}: ${describeError(err)}`, `check the permissions of ${where}`);
  }
}

/** The API answers, and accepts our token. */
export async function checkApi(client: ApiClient): Promise<Outcome> {
  try {
    await client.call((api) => api.healthz.$get());
  } catch (err) {
    return fail(describeError(err), "start it with `ironclaw serve`, or pass --api-url");
  }
  try {
    await client.call((api) => api.v1.changes.pending.$get());
  } catch (err) {
    return fail(
      `${client.baseUrl} is up but refused us: ${describeError(err)}`,
      "set IRONCLAW_API_TOKEN or --state-dir",
    );
  }
  return pass(`${client.baseUrl} answers and accepts the token`);
}

/**
 * No model host is failing, as the running control plane's model proxy saw
 * its calls (`/v1/status`); undefined when the API cannot be asked (the api
 * check says why).
 */
export async function checkModels(client: ApiClient): Promise<Outcome | undefined> {
  let providers;
  try {
    providers = (await client.call((api) => api.v1.status.$get())).providers;
  } catch {
    return undefined;
  }
  const failing = providers.filter((p) => p.failing);
  if (failing.length > 0) {
    return fail(
      failing.map((p) => `${p.host} failing: ${p.lastError?.cause ?? "its last call failed"}`).join("; "),
      "fix the provider's key or host for the control plane and restart it; `ironclaw status` shows each host",
    );
  }
  if (providers.length === 0) return pass("no model calls yet");
  return pass(`${providers.map((p) => p.host).join(", ")}: the last call succeeded`);
}

const sandboxHint = "run as root, with gVisor (`apt-get install runsc`) or else bubblewrap " +
  "(`apt-get install bubblewrap`) installed";

/**
 * A sandbox works here, chosen the way `serve` chooses outside development
 * (runsc, else bubblewrap; never the unsandboxed process backend) and smoke-run
 * with the agent program `serve` would run (`$IRONCLAW_AGENT_PROGRAM`, else
 * the one beside a compiled `ironclaw`, else Deno for the bundle). Scratch
 * files go to a temporary directory, removed after.
 */
export async function checkSandbox(
  options: { choose?: typeof chooseIsolator; tempDir?: string } = {},
): Promise<Outcome> {
  const choose = options.choose ?? chooseIsolator;
  const scratch = await Deno.makeTempDir({ dir: options.tempDir, prefix: "ironclaw-doctor-" });
  try {
    const named = agentExecutableOption({});
    const agent = new AgentProgram({
      executable: named.agentExecutable,
      executableFrom: named.agentExecutableFrom,
      buildDir: `${scratch}/program`,
    });
    const choice = await choose({
      preference: "auto",
      stateDir: `${scratch}/isolator`,
      agentExecutable: agent.executable,
    });
    return pass(choice.label);
  } catch (err) {
    return fail(describeError(err), sandboxHint);
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

/**
 * Each configured chat channel's secrets work (one real call per channel,
 * its kind's check: Telegram's `getMe`, Slack's `auth.test`), one result
 * named for the channel; none when no channel is configured.
 */
export async function checkChannels(
  stateDir: string,
  keys: { flags?: PassphraseFlags; interactive?: boolean } = {},
): Promise<CheckResult[]> {
  try {
    await Deno.lstat(`${stateDir}/${MASTER_KEY_FILE}`);
  } catch {
    return []; // no state yet: the master-key check already says so
  }
  let configs;
  try {
    configs = await withChannels(stateDir, (channels) => channels.list(), { readOnly: true, ...keys });
  } catch (err) {
    return [{
      name: "channels",
      ...fail(`cannot read the channel configuration: ${describeError(err)}`, "run `ironclaw channel list`"),
    }];
  }
  return await Promise.all(configs.map(async (config) => {
    const result = await checkChannel(config);
    return {
      name: config.name,
      ...(result.ok ? pass(result.detail) : fail(result.detail, result.fix ?? "check the channel's tokens")),
    };
  }));
}

/**
 * One real call per configured model provider: the one `ironclaw onboard`
 * chose (a chat with its model), else each provider whose key variable is set
 * (its model list). None configured: no check (`--dev` runs the mock model).
 * (`checkModels` reports what the running plane saw; this asks the provider now.)
 */
export async function checkModelCredentials(
  stateDir: string,
  env: { get(name: string): string | undefined } = Deno.env,
): Promise<CheckResult[]> {
  let chosen: ModelConfig | undefined;
  try {
    chosen = readModelConfig(stateDir);
  } catch (err) {
    return [{
      name: "model",
      ...fail(describeError(err), `rerun \`ironclaw onboard --state-dir ${stateDir}\``),
    }];
  }
  const configs: (Pick<ModelConfig, "provider" | "baseUrl" | "keyEnv"> & { model?: string })[] = chosen
    ? [chosen]
    : MODEL_PROVIDERS.filter((provider) => env.get(modelKeyEnv({ provider }))).map((provider) => ({
      provider,
    }));
  return await Promise.all(configs.map(async (config) => {
    const problem = await checkModelCredential(config, env);
    const what = `${config.provider}${config.model ? ` ${config.model}` : ""}${
      config.baseUrl ? ` at ${config.baseUrl}` : ""
    }`;
    return {
      name: "model-key",
      ...(problem
        ? fail(`${what}: ${problem.detail}`, problem.fix)
        : pass(`${what} answered (key from $${modelKeyEnv(config)})`)),
    };
  }));
}

/** How long `doctor` waits for one MCP server to start and list its tools. */
export const MCP_CHECK_MS = 90_000;

/** The fix for an MCP server that did not start or list, from what went wrong. */
function mcpFix(name: string, error: string): string {
  const secret = /ironclaw vault set (\S+)/.exec(error);
  if (secret) return `ironclaw vault set ${secret[1]}`;
  if (/run only in a runsc or bwrap sandbox/.test(error)) {
    return `${sandboxHint}, then restart serve; or serve --mcp-allow-host-process (WEAKER: no sandbox)`;
  }
  if (/does not exist on this host|not on this host's PATH|must be an absolute path/.test(error)) {
    return `install it, or register it again by its absolute path: ironclaw mcp add ${name} --command /ABS/PATH …`;
  }
  if (/resolves to|plain http|certificate|UnknownIssuer/i.test(error)) {
    return "use its https URL with a valid certificate, or let a private port through with serve --egress-allow-private";
  }
  return `read its log, fix its --command, --path or --env with ironclaw mcp add ${name} …, then run doctor again`;
}

/**
 * Each registered MCP server starts where the running control plane runs it
 * (its own sandbox, a remote URL, or a bare host process under
 * `--mcp-allow-host-process`) and lists its tools, each within
 * {@link MCP_CHECK_MS}; one result per server, with the fix on failure. None
 * when the API cannot be asked (the api check says why).
 */
export async function checkMcpServers(
  client: ApiClient,
  options: { timeoutMs?: number } = {},
): Promise<CheckResult[]> {
  let servers;
  let runs: Map<string, string>;
  try {
    servers = await client.call((api) => api.v1.mcp.servers.$get());
    const status = await client.call((api) => api.v1.status.$get());
    runs = new Map(status.mcp.each.map((s) => [s.name, s.runs]));
  } catch {
    return [];
  }
  const timeoutMs = options.timeoutMs ?? MCP_CHECK_MS;
  return await Promise.all(servers.map(async ({ name }): Promise<CheckResult> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`did not start and list its tools within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
    });
    try {
      const answer = await Promise.race([
        client.call((api) => api.v1.mcp.servers[":name"].tools.$get({ param: { name } })),
        late,
      ]);
      const names = answer.tools.map((t) => t.name);
      return {
        name: `mcp:${name}`,
        ...pass(
          `${names.length} tool${names.length === 1 ? "" : "s"} (${names.join(", ")}); ${runs.get(name)}`,
        ),
      };
    } catch (err) {
      const error = describeError(err);
      return { name: `mcp:${name}`, ...fail(error, mcpFix(name, error)) };
    } finally {
      clearTimeout(timer);
    }
  }));
}

/** Runs every check, in order. */
export async function runChecks(
  stateDir: string,
  client: ApiClient,
  keys: { flags?: PassphraseFlags; interactive?: boolean } = {},
): Promise<CheckResult[]> {
  const results: CheckResult[] = [
    { name: "sqlcipher", ...checkSqlcipher() },
    { name: "state-dir", ...checkStateDir(stateDir) },
    { name: "master-key", ...await checkMasterKey(stateDir) },
    { name: "audit-chain", ...await checkAuditChain(stateDir, keys) },
    { name: "sandbox", ...await checkSandbox() },
    { name: "api", ...await checkApi(client) },
  ];
  const models = await checkModels(client);
  if (models) results.push({ name: "models", ...models });
  results.push(...await checkModelCredentials(stateDir));
  results.push(...await checkChannels(stateDir, keys));
  results.push(...await checkMcpServers(client));
  return results;
}

/** One line per check: `ok`/`FAIL`, the check, what was found, and the fix. */
export function describeCheck(c: CheckResult): string {
  return `${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(11)}  ${c.detail}${c.ok ? "" : ` — fix: ${c.fix}`}`;
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

/** Registers `doctor` on `program`. */
export function registerDoctorCommand(program: Command, io: CliIo): void {
  withClientFlags(withPassphraseFlag(
    program.command("doctor")
      .description(
        "check libsqlcipher, state directory and key modes, the audit chain, that a sandbox works here, the API, " +
          "each configured model provider and chat channel with one real call, and that each registered MCP " +
          "server starts where it runs and lists its tools",
      )
      .option("--json", "machine-readable output"),
  )).action(async (opts: ClientFlags & PassphraseFlags & { json?: boolean }) => {
    const results = await runChecks(opts.stateDir ?? defaultStateDir(), ApiClient.fromFlags(opts), {
      flags: opts,
      interactive: io.interactive,
    });
    if (opts.json) printJson(io, results);
    else for (const r of results) io.out(describeCheck(r));
    const failed = results.filter((r) => !r.ok).length;
    if (failed) throw new CliError(`${failed} check${failed === 1 ? "" : "s"} failed`);
  });
}
