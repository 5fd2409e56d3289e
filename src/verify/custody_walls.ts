/**
 * The `key-custody` wall: a copy of the state directory must not open the
 * keys. Held when the master key is wrapped under a passphrase, no file of
 * the directory holds a plain master key (a stray `.bak` copy counts), and
 * the custodian refuses to open the directory without the passphrase and
 * with a wrong one. File custody (the development mode) falls, naming the
 * fix. Without an installation (no master key in the state directory) the
 * same checks run on a fresh passphrase-custody directory, so the wall shows
 * the mechanism works on this host.
 *
 * @module
 */
import { join } from "node:path";
import {
  inspectMasterKeyFile,
  KeyCustodian,
  MASTER_KEY_FILE,
  MasterKeyError,
  STATE_DB_KEY_ID,
} from "../keys/mod.ts";
import type { ArmedWalls, WallKit, WallRun } from "./wall_kit.ts";
import type { Wall } from "./verdict.ts";

/** The plain (file custody) master key file starts with this. */
const PLAIN_MAGIC = new TextEncoder().encode("ICKMASTER1");
/** Files larger than this are not master keys (nor copies of one) and are not scanned. */
const SCAN_LIMIT = 64 * 1024;

/** The key-custody kit. */
export const custodyWalls: WallKit = { name: "custody", arm };

function arm(run: WallRun): ArmedWalls {
  return { decide: async () => [await keyCustodyWall(run.stateDir)] };
}

/** Decides `key-custody` for `stateDir` (or, with no installation there, for a fresh directory). */
export async function keyCustodyWall(stateDir: string | undefined): Promise<Wall> {
  const installed = stateDir !== undefined && await exists(join(stateDir, MASTER_KEY_FILE));
  if (installed) return await decide(stateDir, stateDir);
  const scratch = await Deno.makeTempDir({ prefix: "ironclaw-verify-custody-" });
  try {
    const passphrase = crypto.randomUUID();
    const custodian = await KeyCustodian.open(scratch, {
      mode: "passphrase",
      passphrase: () => Promise.resolve(passphrase),
      scryptLog2N: 14,
    });
    await custodian.getOrCreate(STATE_DB_KEY_ID);
    return await decide(scratch, `a fresh state directory (no installation at ${stateDir ?? "—"})`);
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
}

async function decide(dir: string, where: string): Promise<Wall> {
  const fall = (detail: string): Wall => ({ name: "key-custody", held: false, detail });
  const masterPath = join(dir, MASTER_KEY_FILE);
  let custody;
  try {
    const found = await inspectMasterKeyFile(masterPath);
    found.bytes.fill(0);
    custody = found.custody;
  } catch (err) {
    return fall(`cannot read ${masterPath}: ${(err as Error).message}`);
  }
  if (custody === "file") {
    return fall(
      `file custody: the master key is plaintext in ${masterPath} beside the data it opens ` +
        "(development mode; `ironclaw keys protect` wraps it under a passphrase)",
    );
  }
  const plainCopies = await plainMasterCopies(dir);
  if (plainCopies.length) return fall(`a plain master key lies in ${plainCopies.join(", ")}`);
  for (const passphrase of [undefined, "not the passphrase"]) {
    const opened = await KeyCustodian.open(
      dir,
      passphrase ? { passphrase: () => Promise.resolve(passphrase) } : {},
    )
      .then(() => "opened", (err) => err);
    const refused = opened instanceof MasterKeyError &&
      (opened.kind === "locked" || opened.kind === "passphrase");
    if (!refused) {
      return fall(
        `${where} opened ${passphrase ? "with a wrong passphrase" : "without the passphrase"}: ${
          String(opened)
        }`,
      );
    }
  }
  return {
    name: "key-custody",
    held: true,
    detail: `${where}: the master key is wrapped (scrypt + AES-256-GCM); no plain copy in the directory; ` +
      "opening without the passphrase and with a wrong one is refused",
  };
}

/** Files of `dir` (not recursive: the master only ever lives at the top) that are a plain master key. */
async function plainMasterCopies(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile) continue;
    const path = join(dir, entry.name);
    const info = await Deno.stat(path);
    if (info.size > SCAN_LIMIT) continue;
    const bytes = await Deno.readFile(path).catch(() => undefined);
    if (bytes && PLAIN_MAGIC.every((b, i) => bytes[i] === b)) found.push(path);
  }
  return found;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}
