/**
 * The key custodian: owns the host master key and the sealed data keys
 * (per-session queue keys and named host keys such as `state-db`).
 *
 * Master rotation touches two files and is made crash-safe by ordering:
 * 1. the new master is written to `host-master.key.next`;
 * 2. `sealed-keys.json` is replaced, re-wrapped under the new master;
 * 3. `host-master.key.next` is renamed over `host-master.key`.
 * The sealed file's fingerprint says which master is current, so opening
 * after a crash rolls back (sealed under the old master: drop `.next`) or
 * forward (sealed under `.next`: finish the rename).
 *
 * The master is kept in the custody mode it was found in (see
 * `master_key.ts`); a rotation keeps the mode, `protect` moves a plain key
 * under a passphrase.
 *
 * @module
 */
import { join } from "node:path";
import { asSessionKey, CIPHER, type SessionKey } from "../../contract/cipher.ts";
import { KeyStoreError, MasterKeyError } from "./errors.ts";
import type { KeyId } from "./key_id.ts";
import {
  createMasterKeyFile,
  generateMasterKey,
  type KeyCustodyMode,
  MASTER_KEY_FILE,
  type MasterKey,
  type MasterKeyLock,
  type PassphraseSource,
  readMasterKeyFile,
  replaceMasterKeyFile,
} from "./master_key.ts";
import { removeIfPresent, syncDir } from "./private_file.ts";
import { readSealedFile, SEALED_KEYS_FILE, type SealedKeys, writeSealedFile } from "./sealed_file.ts";
import { Sealer } from "./sealer.ts";
import { deriveSubKey, type KeyPurpose } from "./sub_keys.ts";

/** Where an in-progress rotation stages the new master. */
export const NEXT_MASTER_KEY_FILE = `${MASTER_KEY_FILE}.next`;

interface Paths {
  dir: string;
  master: string;
  next: string;
  sealed: string;
}

interface State {
  master: MasterKey;
  /** How the master is kept on disk, and so how a rotated one is written. */
  lock: MasterKeyLock;
  sealer: Sealer;
  keys: ReadonlyMap<KeyId, Uint8Array>;
}

/** How the custodian keeps (or finds) the master key. */
export interface CustodyOptions {
  /** How a master created now is kept (default `file`). An existing one is used as found. */
  mode?: KeyCustodyMode;
  /** Refuse a plain (file custody) master: the operator asked for a passphrase explicitly. */
  requirePassphrase?: boolean;
  /** Asked only when the master is, or is about to be, under a passphrase. */
  passphrase?: PassphraseSource;
  /** scrypt cost (log2 N) of new wrappings (default `DEFAULT_SCRYPT_LOG2N`). */
  scryptLog2N?: number;
}

/** Per-session and host data keys, sealed on disk under the host master key. */
export class KeyCustodian {
  #state: State;
  #queue: Promise<unknown> = Promise.resolve();
  /** The `getOrCreate` calls waiting for their turn, answered together. */
  #batch: { ids: Set<KeyId>; keys: Promise<Map<KeyId, SessionKey | Error>> } | undefined;

  private constructor(private readonly paths: Paths, state: State) {
    this.#state = state;
  }

  /**
   * Opens the custodian of `stateDir` (which must exist). Creates the master
   * on first run, finishes or rolls back an interrupted rotation, and refuses
   * a sealed store that this master did not seal.
   */
  static async open(stateDir: string, custody: CustodyOptions = {}): Promise<KeyCustodian> {
    const paths: Paths = {
      dir: stateDir,
      master: join(stateDir, MASTER_KEY_FILE),
      next: join(stateDir, NEXT_MASTER_KEY_FILE),
      sealed: join(stateDir, SEALED_KEYS_FILE),
    };
    const sealed = await readSealedFile(paths.sealed);
    const { master: key, lock, sealer } = await loadMaster(paths, sealed, custody);
    if (sealed && sealed.master !== sealer.fingerprint) {
      throw new KeyStoreError(
        "wrong_master",
        `${paths.sealed} was sealed by master ${sealed.master}, but ${paths.master} is master ${sealer.fingerprint}`,
      );
    }
    return new KeyCustodian(paths, { master: key, lock, sealer, keys: sealed?.keys ?? new Map() });
  }

  /** How the master key is kept at rest. */
  get custody(): KeyCustodyMode {
    return this.#state.lock.mode;
  }

  /**
   * Puts the master under `passphrase` (same key, so every sealed key stays
   * valid): the plain file is atomically replaced by the wrapped one.
   */
  protect(passphrase: string, options: { scryptLog2N?: number } = {}): Promise<void> {
    return this.#serial(async () => {
      const lock: MasterKeyLock = { mode: "passphrase", passphrase, ...options };
      await replaceMasterKeyFile(this.paths.master, this.#state.master, lock);
      this.#state = { ...this.#state, lock };
    });
  }

  /** Fingerprint of the current master (16 hex). Not secret. */
  get fingerprint(): string {
    return this.#state.sealer.fingerprint;
  }

  /** The ids of all stored keys. */
  ids(): Promise<KeyId[]> {
    return this.#serial(() => [...this.#state.keys.keys()]);
  }

  /** The key `id`, or undefined if there is none. */
  get(id: KeyId): Promise<SessionKey | undefined> {
    return this.#serial(() => {
      const blob = this.#state.keys.get(id);
      return blob && this.#state.sealer.unseal(id, blob);
    });
  }

  /**
   * The key `id`, generated and durably sealed first if there is none.
   * Calls that arrive while an earlier one is being written are answered
   * together, with one write of the sealed file for all the keys they create
   * (a burst of new sessions is not a queue of file replacements).
   */
  getOrCreate(id: KeyId): Promise<SessionKey> {
    let batch = this.#batch;
    if (!batch) {
      const ids = new Set<KeyId>();
      batch = {
        ids,
        keys: this.#serial(() => {
          // From here on, new calls start the next batch.
          if (this.#batch?.ids === ids) this.#batch = undefined;
          return this.#getOrCreateAll(ids);
        }),
      };
      this.#batch = batch;
    }
    batch.ids.add(id);
    return batch.keys.then((keys) => {
      const key = keys.get(id)!;
      if (key instanceof Error) throw key;
      return key;
    });
  }

  /** Each key of `ids`, the missing ones created and sealed in one write; an id that fails carries its error. */
  async #getOrCreateAll(ids: ReadonlySet<KeyId>): Promise<Map<KeyId, SessionKey | Error>> {
    const { sealer, keys } = this.#state;
    const found = new Map<KeyId, SessionKey | Error>();
    const next = new Map(keys);
    for (const id of ids) {
      const blob = keys.get(id);
      if (blob) {
        found.set(id, await sealer.unseal(id, blob).catch((err: Error) => err));
        continue;
      }
      const key = asSessionKey(crypto.getRandomValues(new Uint8Array(CIPHER.keyBytes)));
      next.set(id, await sealer.seal(id, key));
      found.set(id, key);
    }
    if (next.size !== keys.size) await this.#commit(next);
    return found;
  }

  /** Forgets the key `id`; true if it existed. */
  delete(id: KeyId): Promise<boolean> {
    return this.#serial(async () => {
      if (!this.#state.keys.has(id)) return false;
      const keys = new Map(this.#state.keys);
      keys.delete(id);
      await this.#commit(keys);
      return true;
    });
  }

  /** The sub-key of the current master for `purpose`. Changes when the master is rotated. */
  deriveSubKey(purpose: KeyPurpose): Promise<Uint8Array> {
    return this.#serial(() => deriveSubKey(this.#state.master, purpose));
  }

  /** Replaces the master with a fresh one and re-wraps every key under it. */
  rotate(): Promise<void> {
    return this.#serial(async () => {
      const { sealer, keys } = this.#state;
      const master = generateMasterKey();
      const next = await Sealer.for(master);
      // Unseal everything before touching disk: a bad blob aborts with nothing changed.
      const rewrapped = new Map<KeyId, Uint8Array>();
      for (const [id, blob] of keys) rewrapped.set(id, await next.seal(id, await sealer.unseal(id, blob)));
      await createMasterKeyFile(this.paths.next, master, this.#state.lock);
      try {
        await writeSealedFile(this.paths.sealed, { master: next.fingerprint, keys: rewrapped });
      } catch (err) {
        await removeIfPresent(this.paths.next);
        throw err;
      }
      // The sealed file now names the new master, which makes it current even if the rename fails.
      this.#state = { ...this.#state, master, sealer: next, keys: rewrapped };
      await Deno.rename(this.paths.next, this.paths.master);
      await syncDir(this.paths.dir);
    });
  }

  async #commit(keys: ReadonlyMap<KeyId, Uint8Array>): Promise<void> {
    await writeSealedFile(this.paths.sealed, { master: this.#state.sealer.fingerprint, keys });
    this.#state = { ...this.#state, keys };
  }

  #serial<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** Loads (or on first run creates) the master, resolving any interrupted rotation. */
async function loadMaster(
  paths: Paths,
  sealed: SealedKeys | undefined,
  custody: CustodyOptions,
): Promise<{ master: MasterKey; lock: MasterKeyLock; sealer: Sealer }> {
  // Asked at most once: a rotation's `.next` is under the same passphrase.
  let asked: Promise<string> | undefined;
  const ask: PassphraseSource | undefined = custody.passphrase &&
    ((purpose) => asked ??= custody.passphrase!(purpose));
  let found: Awaited<ReturnType<typeof readMasterKeyFile>>;
  try {
    found = await readMasterKeyFile(paths.master, ask);
  } catch (err) {
    if (!(err instanceof MasterKeyError && err.kind === "missing")) throw err;
    if (sealed || await exists(paths.next)) {
      throw new KeyStoreError(
        "missing_master",
        `${paths.master} is missing but key material remains in ${paths.dir}; restore the master key file`,
      );
    }
    const lock = await newLock(paths, custody, ask);
    const master = generateMasterKey();
    await createMasterKeyFile(paths.master, master, lock);
    return { master, lock, sealer: await Sealer.for(master) };
  }
  const { key: master, custody: mode, passphrase } = found;
  if (mode === "file" && custody.requirePassphrase) {
    master.fill(0);
    throw new MasterKeyError(
      "plain",
      paths.master,
      `${paths.master} is a plain key file (file custody): run \`ironclaw keys protect\` to put it under a passphrase`,
    );
  }
  const lock: MasterKeyLock = mode === "file"
    ? { mode }
    : { mode, passphrase: passphrase!, scryptLog2N: custody.scryptLog2N };
  const sealer = await Sealer.for(master);
  if (!await exists(paths.next)) return { master, lock, sealer };

  if (!sealed || sealed.master === sealer.fingerprint) {
    // Rotation stopped before the sealed file was replaced: the old master is still current.
    await Deno.remove(paths.next);
    await syncDir(paths.dir);
    return { master, lock, sealer };
  }
  const { key: next } = await readMasterKeyFile(paths.next, ask);
  const nextSealer = await Sealer.for(next);
  if (sealed.master !== nextSealer.fingerprint) {
    throw new KeyStoreError(
      "wrong_master",
      `${paths.sealed} was sealed by master ${sealed.master}, which is neither ${paths.master} nor ${paths.next}`,
    );
  }
  // Rotation stopped after the sealed file was replaced: finish it.
  await Deno.rename(paths.next, paths.master);
  await syncDir(paths.dir);
  return { master: next, lock, sealer: nextSealer };
}

/** How a first-run master is written: in the clear, or under the passphrase asked for now. */
async function newLock(
  paths: Paths,
  custody: CustodyOptions,
  ask?: PassphraseSource,
): Promise<MasterKeyLock> {
  if ((custody.mode ?? "file") === "file") return { mode: "file" };
  if (!ask) {
    throw new MasterKeyError(
      "locked",
      paths.master,
      `a new ${paths.master} needs a passphrase and none was given`,
    );
  }
  return { mode: "passphrase", passphrase: await ask("new"), scryptLog2N: custody.scryptLog2N };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
