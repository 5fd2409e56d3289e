/**
 * The vault: third-party API secrets, held host-side for the egress broker
 * to inject. Each value is sealed with AES-256-GCM under the custodian's
 * `vault` data key (bound to the secret's name) inside the encrypted state
 * database, so it is never on disk in plaintext, and it is decrypted only in
 * the broker's memory for the request it goes on. Values come in through
 * the API's body (from stdin or a hidden prompt), never argv; listings show
 * names, dates and grants, never values.
 *
 * A grant (applied only from an approved `vault_grant` change) says which
 * agent group's requests to which exact host carry the secret, in which
 * header and format.
 *
 * @module
 */
import type { ChangeId } from "../../contract/ids.ts";
import type { VaultGrantPayload } from "../../contract/changes.ts";
import { nowTimestamp, type Timestamp } from "../../contract/time.ts";
import type { StateDb } from "../state/mod.ts";

/** One secret as listed: never its value. */
export interface VaultEntry {
  name: string;
  createdAt: Timestamp;
  /** When the value was last set (a rotation moves it). */
  updatedAt: Timestamp;
  grants: { agentGroupId: string; host: string; header: string }[];
}

/** A header the broker sets, with the secret's name for its audit record. */
export interface VaultHeader {
  credential: string;
  header: string;
  value: string;
}

/** A value that cannot go into an HTTP header. */
export class VaultValueError extends Error {
  override name = "VaultValueError";
}

/** Largest secret, in bytes of UTF-8. */
export const MAX_SECRET_BYTES = 8192;

const AAD_PREFIX = "ironclaw/vault/v1:";
const IV_BYTES = 12;

/** The vault over the state database, sealing with `key` (the custodian's `vault` data key). */
export class VaultStore {
  readonly #state: StateDb;
  readonly #key: Promise<CryptoKey>;

  constructor(state: StateDb, key: Uint8Array) {
    this.#state = state;
    this.#key = crypto.subtle.importKey("raw", new Uint8Array(key), "AES-GCM", false, ["encrypt", "decrypt"]);
  }

  /**
   * Sets `name` to `value` (a trailing newline from a pipe is dropped);
   * replacing an existing value is a rotation. Throws {@link VaultValueError}
   * for an empty, oversized or multi-line value.
   */
  async set(name: string, value: string): Promise<{ rotated: boolean }> {
    const secret = value.replace(/\r?\n$/, "");
    if (secret === "") throw new VaultValueError("the secret is empty");
    if (new TextEncoder().encode(secret).length > MAX_SECRET_BYTES) {
      throw new VaultValueError(`the secret is longer than ${MAX_SECRET_BYTES} bytes`);
    }
    // It goes into an HTTP header: a line break there would forge headers.
    if (/\p{Cc}/u.test(secret)) {
      throw new VaultValueError("the secret holds a line break or control character");
    }
    const sealed = await this.#seal(name, secret);
    const now = nowTimestamp();
    const rotated =
      this.#state.db.get("SELECT 1 AS x FROM vault_secrets WHERE name = ?", [name]) !== undefined;
    this.#state.db.run(
      `INSERT INTO vault_secrets (name, sealed, created_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`,
      [name, sealed, now, now],
    );
    return { rotated };
  }

  /** Removes `name` and its grants; false when there was none. */
  remove(name: string): boolean {
    return this.#state.db.run("DELETE FROM vault_secrets WHERE name = ?", [name]) === 1;
  }

  /** True when `name` is set. */
  has(name: string): boolean {
    return this.#state.db.get("SELECT 1 AS x FROM vault_secrets WHERE name = ?", [name]) !== undefined;
  }

  /** Every secret's name, dates and grants, by name. */
  list(): VaultEntry[] {
    const grants = this.#state.db.all<{ name: string; agent_group_id: string; host: string; header: string }>(
      "SELECT name, agent_group_id, host, header FROM vault_grants ORDER BY agent_group_id, host",
    );
    return this.#state.db.all<{ name: string; created_at: string; updated_at: string }>(
      "SELECT name, created_at, updated_at FROM vault_secrets ORDER BY name",
    ).map((r) => ({
      name: r.name,
      createdAt: r.created_at as Timestamp,
      updatedAt: r.updated_at as Timestamp,
      grants: grants.filter((g) => g.name === r.name).map((g) => ({
        agentGroupId: g.agent_group_id,
        host: g.host,
        header: g.header,
      })),
    }));
  }

  /** Records an approved grant (one per group, host and header: a later grant replaces it). */
  grant(agentGroupId: string, grant: VaultGrantPayload, changeId: ChangeId): void {
    if (!this.has(grant.name)) {
      throw new Error(`vault secret ${grant.name} is not set (ironclaw vault set ${grant.name})`);
    }
    this.#state.db.run(
      `INSERT INTO vault_grants (name, agent_group_id, host, header, format, change_id) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (agent_group_id, host, header) DO UPDATE SET
         name = excluded.name, format = excluded.format, change_id = excluded.change_id`,
      [grant.name, agentGroupId, grant.host, grant.header.toLowerCase(), grant.format, changeId],
    );
  }

  /** The secret's value, host-side only (the broker's keyed search backend); undefined when not set. */
  async reveal(name: string): Promise<string | undefined> {
    const row = this.#state.db.get<{ sealed: Uint8Array<ArrayBuffer> }>(
      "SELECT sealed FROM vault_secrets WHERE name = ?",
      [name],
    );
    return row === undefined ? undefined : await this.#open(name, row.sealed);
  }

  /**
   * The headers granted to `agentGroupId` for `url`: grants for the URL's
   * exact `host:port`, and for its bare host name when the port is the
   * scheme's default or the grant names no port.
   */
  async headersFor(agentGroupId: string, url: URL): Promise<VaultHeader[]> {
    const host = url.hostname.toLowerCase();
    const port = url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80";
    const rows = this.#state.db.all<
      { name: string; header: string; format: string; sealed: Uint8Array<ArrayBuffer> }
    >(
      `SELECT g.name, g.header, g.format, s.sealed FROM vault_grants g JOIN vault_secrets s ON s.name = g.name
       WHERE g.agent_group_id = ? AND g.host IN (?, ?) ORDER BY g.host`,
      [agentGroupId, host, `${host}:${port}`],
    );
    return await Promise.all(rows.map(async (r) => ({
      credential: r.name,
      header: r.header,
      value: r.format.replace("{}", await this.#open(r.name, r.sealed)),
    })));
  }

  async #seal(name: string, secret: string): Promise<Uint8Array<ArrayBuffer>> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(AAD_PREFIX + name) },
      await this.#key,
      new TextEncoder().encode(secret),
    );
    const out = new Uint8Array(IV_BYTES + sealed.byteLength);
    out.set(iv);
    out.set(new Uint8Array(sealed), IV_BYTES);
    return out;
  }

  async #open(name: string, sealed: Uint8Array<ArrayBuffer>): Promise<string> {
    const plain = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: sealed.subarray(0, IV_BYTES),
        additionalData: new TextEncoder().encode(AAD_PREFIX + name),
      },
      await this.#key,
      sealed.subarray(IV_BYTES),
    );
    return new TextDecoder().decode(plain);
  }
}
