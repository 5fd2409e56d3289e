/**
 * The broker's audit trail: one JSON line per request, allowed or refused,
 * one per vault secret set, rotated or removed, and one per approved host
 * an operator revoked, in
 * `<state-dir>/egress-audit.jsonl` (0600, append-only, written in arrival
 * order). Metadata only: no bodies, no query strings, no secrets.
 *
 * @module
 */
import type { EgressRecord } from "./broker.ts";

/** A vault event: a secret set, rotated or removed (by name; never its value). */
export interface VaultEvent {
  time: string;
  action: "vault.set" | "vault.rotate" | "vault.remove";
  name: string;
}

/** An operator's revocation of an agent group's approved host. */
export interface EgressRevocation {
  time: string;
  action: "egress.revoke";
  agentGroup: string;
  host: string;
}

/** File name of the egress audit inside the state directory. */
export const EGRESS_AUDIT_FILE = "egress-audit.jsonl";

/** What the egress audit holds. */
export type EgressAuditLine = EgressRecord | VaultEvent | EgressRevocation;

/**
 * An open audit file of JSON lines; by default the egress audit's. The MCP
 * broker keeps its calls in a file of the same kind (`mcp-audit.jsonl`).
 */
export class EgressAuditFile<T extends object = EgressAuditLine> {
  readonly #file: Deno.FsFile;
  #tail: Promise<void> = Promise.resolve();

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Opens (creating 0600) `path` for appending. */
  static open<T extends object = EgressAuditLine>(path: string): EgressAuditFile<T> {
    return new EgressAuditFile<T>(Deno.openSync(path, { create: true, append: true, mode: 0o600 }));
  }

  /** Appends `record` as one line; lines never interleave. Resolves once written. */
  append(record: T): Promise<void> {
    const line = new TextEncoder().encode(`${JSON.stringify(record)}\n`);
    this.#tail = this.#tail.then(async () => {
      for (let written = 0; written < line.length;) written += await this.#file.write(line.subarray(written));
    });
    return this.#tail;
  }

  /** Waits for pending lines, then closes the file. */
  async close(): Promise<void> {
    await this.#tail.catch(() => {});
    this.#file.close();
  }
}
