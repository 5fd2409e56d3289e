/**
 * The control plane's composition: key custody, the encrypted state database,
 * registry, change store, audit log, metrics and gateway, opened together
 * over one locked state directory and closed together.
 *
 * @module
 */
import { resolveLibraryPath } from "../../contract/sqlite/mod.ts";
import { AUDIT_LOG_FILE, AuditLog } from "../audit/mod.ts";
import { captureBefore, Gateway, registryApplier, RESPAWN_KINDS, standardVerifiers } from "../gateway/mod.ts";
import { KeyCustodian, STATE_DB_KEY_ID } from "../keys/mod.ts";
import { logger } from "../log/mod.ts";
import { MetricsRegistry } from "../metrics/mod.ts";
import { Registry } from "../registry/mod.ts";
import { ChangeStore, StateDb } from "../state/mod.ts";
import type { ChangeRequest } from "../../contract/gateway.ts";
import { lockStateDir } from "./state_dir.ts";
import { seedDevDefaults } from "./seed.ts";

/** How to open a control plane. */
export interface ControlPlaneOptions {
  stateDir: string;
  /** Seed the dev defaults (the `demo` agent). */
  dev?: boolean;
  /** Host directories under which approved mounts may lie (default `<state-dir>/mounts`). */
  mountPrefixes?: readonly string[];
  /** libsqlcipher (default: resolved from the environment or the build cache). */
  library?: string;
  /** Restart a group's sandboxes after a change that alters their launch spec. */
  respawnGroup?: (req: ChangeRequest) => Promise<void>;
}

/** Every open subsystem, sharing one state directory. */
export class ControlPlane {
  readonly metrics = new MetricsRegistry();
  readonly decisions = this.metrics.counter(
    "ironclaw_gateway_decisions_total",
    "Terminal gateway decisions, by outcome.",
  );
  readonly gateway: Gateway;
  #ready = false;
  #notReadyReason = "starting";

  private constructor(
    readonly stateDir: string,
    readonly keys: KeyCustodian,
    readonly state: StateDb,
    readonly registry: Registry,
    readonly changes: ChangeStore,
    readonly audit: AuditLog,
    private readonly releaseLock: () => void,
    options: ControlPlaneOptions,
  ) {
    const log = logger("gateway");
    this.gateway = new Gateway({
      store: changes,
      audit,
      verifiers: standardVerifiers({
        registry,
        mounts: {
          allowedSourcePrefixes: options.mountPrefixes ?? [`${stateDir}/mounts`],
          targetPrefix: "/mnt",
        },
        egressEnabled: false,
        mcpServers: new Set(),
      }),
      apply: registryApplier(state, registry),
      captureBefore: (kind, group) => captureBefore(registry, kind, group),
      onDecision: (decision) => this.decisions.inc({ decision }),
      onApplied: async (req) => {
        if (RESPAWN_KINDS.has(req.kind)) await options.respawnGroup?.(req);
      },
      onHookError: (req, err) =>
        log.error("change {changeId} applied but its follow-up failed: {error}", {
          changeId: req.id,
          error: String(err),
        }),
    });
  }

  /** Opens everything under `stateDir` (created 0700), resumes interrupted applies, and becomes ready. */
  static async open(options: ControlPlaneOptions): Promise<ControlPlane> {
    const { stateDir } = options;
    const release = lockStateDir(stateDir);
    const opened: { close(): unknown }[] = [];
    try {
      const keys = await KeyCustodian.open(stateDir);
      const state = StateDb.open(stateDir, {
        library: options.library ?? resolveLibraryPath(),
        key: await keys.getOrCreate(STATE_DB_KEY_ID),
      });
      opened.push(state);
      const audit = await AuditLog.open(`${stateDir}/${AUDIT_LOG_FILE}`);
      opened.push(audit);
      const registry = new Registry(state);
      const plane = new ControlPlane(
        stateDir,
        keys,
        state,
        registry,
        new ChangeStore(state),
        audit,
        release,
        options,
      );
      if (options.dev) seedDevDefaults(registry);
      const resumed = await plane.gateway.resume();
      const log = logger("control-plane");
      if (resumed.applied.length) {
        log.info("applied {count} change(s) interrupted before a restart", { count: resumed.applied.length });
      }
      for (const f of resumed.failed) {
        log.error("change {changeId} is approved but fails to apply: {error}", f);
      }
      plane.#ready = true;
      return plane;
    } catch (err) {
      for (const o of opened.reverse()) await o.close();
      release();
      throw err;
    }
  }

  /** Whether the control plane serves requests, and why not. */
  readiness(): { ready: true } | { ready: false; reason: string } {
    return this.#ready ? { ready: true } : { ready: false, reason: this.#notReadyReason };
  }

  /** Closes everything and releases the state directory. */
  async close(): Promise<void> {
    this.#ready = false;
    this.#notReadyReason = "shutting down";
    await this.audit.close();
    this.state.close();
    this.releaseLock();
  }
}
