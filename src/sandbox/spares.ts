/**
 * A warm spare's host side: the directories it has bound, its claim socket,
 * and the claim's move of a session's files into those directories.
 *
 * A spare is launched before any session is its own, so its binds name
 * directories of its own, each created beside where a session's goes (same
 * parent, same filesystem or volume) under a dot name no session id can
 * take. A claim moves the session's existing entries (queue files,
 * workspace, session memory) into the spare's directories and then renames
 * each spare directory to the session's path: a bind follows the directory,
 * not its name, so the sandbox now sees the session's files, and the host
 * finds them where it always does. Sockets are not moved: the session's new
 * ones are opened in the renamed socket directory.
 *
 * A claim is written down first (`claim.json` in the spare's home) and
 * {@link adopt} is idempotent, so a host that dies in the middle finishes the
 * move at its next start ({@link recoverSpares}) and loses nothing.
 *
 * @module
 */
import type { SessionKey } from "../../contract/cipher.ts";
import { sessionKeyHex } from "../../contract/cipher.ts";
import { CLAIM_SOCKET_NAME, claimLine } from "../../contract/sockets.ts";
import { DEFAULT_SOCKET_MODE, prepareSocketPath } from "../unix_socket/mod.ts";
import { ensureSessionDirs, groupVolumeDirs } from "./session_dirs.ts";
import type { LaunchSpec } from "../../isolator/mod.ts";

/** A new spare's sandbox id: a safe id, never a session's (`ses_…`). */
export function newSpareId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `spare-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The host directories a spare has bound. */
export interface SpareDirs {
  /** The spare's own record directory (`<sessions>/.<id>`): its inbound directory and claim record. */
  home: string;
  inboundDir: string;
  outboundDir: string;
  workspaceDir: string;
  memoryDir: string;
  socketDir: string;
  /** Whether `memoryDir` is the spare's own (a `session` memory partition) rather than its group's. */
  ownMemory: boolean;
}

/**
 * What a spare is launched with besides its program: its own directories and
 * no key (its session's arrives with the claim). The manager's spares and the
 * `verify` spare walls launch from this one shape, so the walls try what runs.
 */
export function spareLaunchDirs(
  dirs: SpareDirs,
): Pick<LaunchSpec, "inboundDir" | "outboundDir" | "key" | "workspaceDir" | "memoryDir" | "socketDir"> {
  return {
    inboundDir: dirs.inboundDir,
    outboundDir: dirs.outboundDir,
    key: { none: true },
    workspaceDir: dirs.workspaceDir,
    memoryDir: dirs.memoryDir,
    socketDir: dirs.socketDir,
  };
}

/**
 * Where spare `id` of agent group `agentGroupId` keeps its directories: each
 * beside where a session's own goes, under a dot name no session id takes.
 * `sessionsRoot` holds the sessions' queue directories; `outboxLimited`: the
 * group's outbound queues are on its outbox volume; `ownMemory`: a `session`
 * memory partition (else the group's memory is bound).
 */
export function spareDirs(
  id: string,
  at: {
    root: string;
    sessionsRoot: string;
    agentGroupId: string;
    outboxLimited: boolean;
    ownMemory: boolean;
  },
): SpareDirs {
  const group = groupVolumeDirs(at.root, at.agentGroupId);
  const home = `${at.sessionsRoot}/.${id}`;
  return {
    home,
    inboundDir: `${home}/in`,
    outboundDir: at.outboxLimited ? `${group.outboxMount}/.${id}` : `${home}/out`,
    workspaceDir: `${group.workspaceMount}/.${id}`,
    memoryDir: at.ownMemory ? `${group.partitionedMemoryMount}/session/.${id}` : group.memoryMount,
    socketDir: `${at.root}/run/.${id}`,
    ownMemory: at.ownMemory,
  };
}

/**
 * Creates a spare's directories as a session's are made: its queue
 * directories 0700 (given to the sandbox's uid, as provisioning does), its
 * socket, workspace and memory directories by {@link ensureSessionDirs}.
 */
export function makeSpareDirs(dirs: SpareDirs, sandboxOwner?: { uid: number; gid: number }): void {
  for (const dir of [dirs.inboundDir, dirs.outboundDir]) {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (sandboxOwner) Deno.chownSync(dir, sandboxOwner.uid, sandboxOwner.gid);
  }
  ensureSessionDirs(dirs, sandboxOwner);
}

/** One directory a claim moves: the spare's, and the session's it becomes. */
export interface AdoptPair {
  from: string;
  to: string;
  /** Keep the session's entries (moved into `from`); false discards them (its old sockets). */
  keep: boolean;
}

const RECORD = "claim.json";
const BOOT_RECORD = "dirs.json";

/** Writes down the spare's directories at its boot, so a later start can remove what a dead host left. */
export function recordSpareDirs(dirs: SpareDirs): void {
  Deno.mkdirSync(dirs.home, { recursive: true, mode: 0o700 });
  Deno.writeTextFileSync(`${dirs.home}/${BOOT_RECORD}`, JSON.stringify(dirs));
}

/**
 * Names what a spare's bound directories hold that a fresh spare's would
 * not: anything at all, besides its claim socket. A claim refuses such a
 * spare (it may have left something for the session it serves next).
 */
export function unexpectedEntries(dirs: SpareDirs): string[] {
  const found: string[] = [];
  const bound = [dirs.inboundDir, dirs.outboundDir, dirs.workspaceDir, dirs.socketDir];
  if (dirs.ownMemory) bound.push(dirs.memoryDir);
  for (const dir of bound) {
    for (const entry of Deno.readDirSync(dir)) {
      if (dir === dirs.socketDir && entry.name === CLAIM_SOCKET_NAME) continue;
      found.push(`${dir}/${entry.name}`);
    }
  }
  return found;
}

/**
 * Moves a session into a spare's directories (see the module doc): records
 * the claim, runs {@link adopt}, then drops the spare's home.
 */
export function claimInto(dirs: SpareDirs, claim: { sessionId: string; pairs: AdoptPair[] }): void {
  // Checked before anything moves: a rename cannot cross filesystems, and half a move helps no one.
  for (const { from, to } of claim.pairs) {
    const target = exists(to) ? to : to.slice(0, to.lastIndexOf("/"));
    if (Deno.statSync(from).dev !== Deno.statSync(target).dev) {
      throw new Error(`${from} and ${to} are on different filesystems`);
    }
  }
  Deno.writeTextFileSync(`${dirs.home}/${RECORD}.tmp`, JSON.stringify(claim));
  Deno.renameSync(`${dirs.home}/${RECORD}.tmp`, `${dirs.home}/${RECORD}`);
  adopt(claim.pairs);
  Deno.removeSync(dirs.home, { recursive: true });
}

/** Renames each `from` to its `to`, first moving `to`'s entries into it when kept; safe to run again after a crash. */
export function adopt(pairs: readonly AdoptPair[]): void {
  for (const { from, to, keep } of pairs) {
    if (!exists(from)) continue; // moved already
    if (exists(to)) {
      if (keep) {
        for (const entry of Deno.readDirSync(to)) {
          Deno.renameSync(`${to}/${entry.name}`, `${from}/${entry.name}`);
        }
      }
      Deno.removeSync(to, { recursive: !keep });
    }
    Deno.mkdirSync(to.slice(0, to.lastIndexOf("/")), { recursive: true, mode: 0o700 });
    Deno.renameSync(from, to);
  }
}

/**
 * At start: finishes every claim a dead host left half done, and removes
 * every unclaimed spare's directories, from the spare homes in
 * `sessionsRoot`. Returns what it did, for the log.
 */
export function recoverSpares(sessionsRoot: string): { finished: string[]; removed: number } {
  const finished: string[] = [];
  let removed = 0;
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(sessionsRoot)];
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { finished, removed };
    throw err;
  }
  for (const entry of entries) {
    if (!entry.isDirectory || !entry.name.startsWith(".spare-")) continue;
    const home = `${sessionsRoot}/${entry.name}`;
    const claim = readJson<{ sessionId: string; pairs: AdoptPair[] }>(`${home}/${RECORD}`);
    if (claim) {
      adopt(claim.pairs);
      finished.push(claim.sessionId);
      Deno.removeSync(home, { recursive: true });
    } else {
      const dirs = readJson<SpareDirs>(`${home}/${BOOT_RECORD}`);
      if (dirs) removeSpareDirs(dirs);
      removeIfPresent(home);
      removed++;
    }
  }
  return { finished, removed };
}

/**
 * The host end of a spare's claim socket: the spare's agent connects at
 * start ({@link waiting} resolves then) and is handed its session's key by
 * {@link hand}. Only the first connection is taken.
 */
export class ClaimSocket {
  readonly #listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>;
  readonly #conn: Promise<Deno.UnixConn | undefined>;
  /** Resolves once the spare's agent is up and waiting (or the socket closed first). */
  readonly waiting: Promise<void>;

  private constructor(listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>) {
    this.#listener = listener;
    this.#conn = (async () => {
      try {
        const conn = await listener.accept();
        listener.close();
        return conn;
      } catch {
        return undefined; // closed before the agent came
      }
    })();
    this.waiting = this.#conn.then(() => {});
  }

  /** Listens in `socketDir` (the sandbox's uid may connect, as to every session socket). */
  static async open(socketDir: string): Promise<ClaimSocket> {
    const path = `${socketDir}/${CLAIM_SOCKET_NAME}`;
    await prepareSocketPath(path);
    const listener = Deno.listen({ transport: "unix", path });
    await Deno.chmod(path, DEFAULT_SOCKET_MODE);
    return new ClaimSocket(listener);
  }

  /** Resolves once the spare's agent waits on the socket; fails when none does within `timeoutMs`. */
  async agentWaiting(timeoutMs: number): Promise<void> {
    await this.#agent(timeoutMs);
  }

  /** Gives the waiting agent its session's key and hangs up; fails when no agent waits within `timeoutMs`. */
  async hand(key: SessionKey, timeoutMs: number): Promise<void> {
    const conn = await this.#agent(timeoutMs);
    try {
      const line = new TextEncoder().encode(claimLine(sessionKeyHex(key)));
      for (let written = 0; written < line.length;) written += await conn.write(line.subarray(written));
    } finally {
      conn.close();
    }
  }

  /** The waiting agent's connection; when none comes within `timeoutMs`, the socket is closed and this fails. */
  async #agent(timeoutMs: number): Promise<Deno.UnixConn> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) =>
      timer = setTimeout(() => resolve(undefined), timeoutMs)
    );
    const conn = await Promise.race([this.#conn, timeout]).finally(() => clearTimeout(timer));
    if (!conn) {
      this.close();
      throw new Error(`the spare's agent did not wait for its claim within ${timeoutMs} ms`);
    }
    return conn;
  }

  /** Stops listening and hangs up on a waiting agent (a discarded spare then exits). */
  close(): void {
    try {
      this.#listener.close();
    } catch {
      // closed after the first connection already
    }
    this.#conn.then((conn) => {
      try {
        conn?.close();
      } catch {
        // handed over and closed already
      }
    });
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Removes an unclaimed spare's directories. A spare whose claim was recorded
 * is left alone: its directories may hold the session's files, and the next
 * start finishes the move ({@link recoverSpares}).
 */
export function removeSpareDirs(dirs: SpareDirs): void {
  if (readJson(`${dirs.home}/${RECORD}`) !== undefined) return;
  const own = [dirs.inboundDir, dirs.outboundDir, dirs.workspaceDir, dirs.socketDir];
  if (dirs.ownMemory) own.push(dirs.memoryDir);
  for (const dir of own) removeIfPresent(dir);
  removeIfPresent(dirs.home);
}

/** Removes `path` and everything in it; a missing one is fine. */
export function removeIfPresent(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(path)) as T;
  } catch {
    return undefined;
  }
}
