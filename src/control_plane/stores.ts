/**
 * The host's durable stores over one state directory, opened together and
 * closed together: key custody, the encrypted state database, the audit log,
 * and the stores that live in the database (registry, change, task,
 * question and usage stores). The plane and every test harness open them here.
 *
 * @module
 */
import type { Timestamp } from "../../contract/time.ts";
import { AUDIT_LOG_FILE, AuditLog, importAuditKey, stateAuditAnchor } from "../audit/mod.ts";
import { AUDIT_KEY_ID, type CustodyOptions, KeyCustodian, STATE_DB_KEY_ID } from "../keys/mod.ts";
import { QuestionStore } from "../questions/mod.ts";
import { Registry } from "../registry/mod.ts";
import { type FloodLimits, TaskStore } from "../scheduling/mod.ts";
import { ChangeStore, StateDb } from "../state/mod.ts";
import { HostGrants } from "../egress/mod.ts";
import { VAULT_KEY_ID, VaultStore } from "../vault/mod.ts";
import { BudgetStore, UsageStore } from "../usage/mod.ts";
import { McpCatalog, McpPins } from "../mcp/mod.ts";

/** How to open the stores. */
export interface StoresOptions {
  /** libsqlcipher. */
  library: string;
  /** The clock of the task and question stores (default: the wall clock). */
  now?: () => Timestamp;
  /** Caps on an agent's tasks and open questions, and the shortest recurrence (default `DEFAULT_FLOOD_LIMITS`). */
  floodLimits?: FloodLimits;
  /** How the master key is kept (see `KeyCustodian.open`). */
  keyCustody?: CustodyOptions;
}

/** The durable stores of one state directory. */
export interface Stores {
  stateDir: string;
  library: string;
  keys: KeyCustodian;
  state: StateDb;
  audit: AuditLog;
  registry: Registry;
  changes: ChangeStore;
  tasks: TaskStore;
  questions: QuestionStore;
  /** The egress hosts a human approved, per agent group. */
  egressHosts: HostGrants;
  /** Third-party API secrets, sealed under the custodian's vault key, and their grants. */
  vault: VaultStore;
  /** Model tokens and cost per agent group, day and model. */
  usage: UsageStore;
  /** The MCP servers a human registered. */
  mcpCatalog: McpCatalog;
  /** What each MCP grant showed and pinned. */
  mcpPins: McpPins;
  /** The agent groups' daily budgets (set by approved `budget` changes). */
  budgets: BudgetStore;
  /** Closes the audit log, then the state database. */
  close(): Promise<void>;
}

/**
 * Opens the stores under `stateDir` (which the caller has locked): the state
 * database is keyed by the custodian's state key.
 *
 * @example
 * ```ts ignore
 * const stores = await openStores(stateDir, { library });
 * try { stores.registry.listAgentGroups(); } finally { await stores.close(); }
 * ```
 */
export async function openStores(stateDir: string, options: StoresOptions): Promise<Stores> {
  const { library, now } = options;
  const keys = await KeyCustodian.open(stateDir, options.keyCustody);
  const state = StateDb.open(stateDir, { library, key: await keys.getOrCreate(STATE_DB_KEY_ID) });
  let audit: AuditLog;
  let vaultKey: Uint8Array;
  try {
    vaultKey = await keys.getOrCreate(VAULT_KEY_ID);
    audit = await AuditLog.open(`${stateDir}/${AUDIT_LOG_FILE}`, {
      key: await importAuditKey(await keys.getOrCreate(AUDIT_KEY_ID)),
      anchor: stateAuditAnchor(state),
    });
  } catch (err) {
    state.close();
    throw err;
  }
  return {
    stateDir,
    library,
    keys,
    state,
    audit,
    registry: new Registry(state),
    changes: new ChangeStore(state),
    tasks: new TaskStore(state, { now, limits: options.floodLimits }),
    questions: new QuestionStore(state, { now, limits: options.floodLimits }),
    egressHosts: new HostGrants(state),
    vault: new VaultStore(state, vaultKey),
    usage: new UsageStore(state),
    mcpCatalog: new McpCatalog(state),
    mcpPins: new McpPins(state),
    budgets: new BudgetStore(state),
    async close() {
      await audit.close();
      state.close();
    },
  };
}
