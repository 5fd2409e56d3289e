/**
 * The `audit-keyed` wall: someone who can write the audit log (but holds
 * neither the audit key nor the state database) cannot rewrite history. On a
 * fresh log written as the control plane writes it (HMAC lines under the
 * custodian's `audit-hmac` key, the head anchored after every append; here in
 * memory, where the plane uses its state database),
 * three rewrites are tried: an edited line with the chain recomputed as plain
 * SHA-256, the same recomputed under a key of the attacker's own, and the last
 * line dropped. The wall holds when verification refuses all three and accepts
 * the untouched log.
 *
 * @module
 */
import { type AuditAnchor, AuditLog, entryHash, importAuditKey, verifyAuditFile } from "../audit/mod.ts";
import { AUDIT_KEY_ID, KeyCustodian } from "../keys/mod.ts";
import type { AuditEntry } from "../../contract/gateway.ts";
import type { ArmedWalls, WallKit } from "./wall_kit.ts";
import type { Wall } from "./verdict.ts";

/** The audit kit. */
export const auditWalls: WallKit = { name: "audit", arm };

function arm(): ArmedWalls {
  return { decide: async () => [await auditKeyedWall()] };
}

/** Decides `audit-keyed` on a scratch state directory. */
export async function auditKeyedWall(): Promise<Wall> {
  const dir = await Deno.makeTempDir({ prefix: "ironclaw-verify-audit-" });
  try {
    const custodian = await KeyCustodian.open(dir);
    const key = await importAuditKey(await custodian.getOrCreate(AUDIT_KEY_ID));
    let anchor: AuditAnchor | undefined;
    const path = `${dir}/audit.jsonl`;
    const log = await AuditLog.open(path, {
      key,
      anchor: { read: () => anchor, write: (a) => void (anchor = a) },
    });
    for (const stage of ["submit", "verdict", "decision", "apply"] as const) {
      await log.append({ stage, changeId: "chg_verify", kind: "persona", detail: `${stage} by verify` });
    }
    await log.close();
    const original = await Deno.readTextFile(path);
    const check = async (text: string) => {
      await Deno.writeTextFile(path, text);
      return await verifyAuditFile(path, { key, anchor });
    };
    const untouched = await check(original);
    if (!untouched.ok) return fall(`the untouched log does not verify: ${untouched.reason}`);
    const entries = original.trimEnd().split("\n").map((l) => JSON.parse(l) as AuditEntry);
    const attackerKey = await importAuditKey(crypto.getRandomValues(new Uint8Array(32)));
    const attacks: [string, string][] = [
      ["an edited line with the chain recomputed as SHA-256", await rechain(entries, undefined)],
      ["the same recomputed under another key", await rechain(entries, attackerKey)],
      ["the last line dropped", original.split("\n").slice(0, entries.length - 1).join("\n") + "\n"],
    ];
    const caught: string[] = [];
    for (const [name, text] of attacks) {
      const result = await check(text);
      if (result.ok) return fall(`${name} verified as ok`);
      caught.push(`${name} (line ${result.line})`);
    }
    return {
      name: "audit-keyed",
      held: true,
      detail:
        `a fresh log: HMAC chain under the custodian's audit key, its head anchored after each append (the plane keeps the anchor in its state database); caught: ${
          caught.join("; ")
        }`,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The log with its third line's detail changed and every hash recomputed (plain SHA-256, or under `key`). */
async function rechain(entries: AuditEntry[], key: Awaited<ReturnType<typeof importAuditKey>> | undefined) {
  let prev = "";
  const lines: string[] = [];
  for (const [i, e] of entries.entries()) {
    const body = { ...e, prev, ...(i === 2 ? { detail: "approve by mallory" } : {}) };
    const hash = await entryHash(body, key);
    lines.push(JSON.stringify({ ...body, hash }));
    prev = hash;
  }
  return lines.join("\n") + "\n";
}

function fall(detail: string): Wall {
  return { name: "audit-keyed", held: false, detail };
}
