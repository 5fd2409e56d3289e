import assert from "node:assert/strict";
import { join } from "node:path";
import type { AuditEntry } from "../../contract/gateway.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { AUDIT_LOG_FILE, AuditLog } from "./audit_log.ts";
import { AuditLogError } from "./errors.ts";
import { readAuditTail } from "./tail.ts";

async function filled(
  dir: string,
  n: number,
  detailBytes = 10,
): Promise<{ log: AuditLog; entries: AuditEntry[] }> {
  const log = await AuditLog.open(join(dir, AUDIT_LOG_FILE));
  const entries: AuditEntry[] = [];
  for (let i = 0; i < n; i++) {
    entries.push(
      await log.append({ stage: "verdict", changeId: `chg_${i}`, detail: `${i}:`.padEnd(detailBytes, "é") }),
    );
  }
  return { log, entries };
}

Deno.test("tail returns the last N entries in file order", async () => {
  using dir = tempDir();
  const { log, entries } = await filled(dir.path, 5);
  assert.deepEqual(await log.tail(2), entries.slice(3));
  assert.deepEqual(await log.tail(1), entries.slice(4));
  assert.deepEqual(await log.tail(5), entries);
  assert.deepEqual(await log.tail(50), entries);
  assert.deepEqual(await log.tail(0), []);
  await assert.rejects(log.tail(-1), RangeError);
  await log.close();
});

Deno.test("tail reads across chunk boundaries, including split multi-byte characters", async () => {
  using dir = tempDir();
  const { log, entries } = await filled(dir.path, 40, 5001);
  for (const n of [1, 12, 13, 39, 40]) assert.deepEqual(await log.tail(n), entries.slice(-n));
  await log.close();
});

Deno.test("tail sees an append made just before it", async () => {
  using dir = tempDir();
  const { log } = await filled(dir.path, 1);
  const pending = log.append({ stage: "apply", changeId: "chg_last" });
  const [last] = await log.tail(1);
  assert.deepEqual(last, await pending);
  await log.close();
});

Deno.test("tail of a missing or empty file is empty; a torn or malformed tail is an error", async () => {
  using dir = tempDir();
  const path = join(dir.path, AUDIT_LOG_FILE);
  assert.deepEqual(await readAuditTail(path, 10), []);
  await Deno.writeTextFile(path, "", { mode: 0o600 });
  assert.deepEqual(await readAuditTail(path, 10), []);
  const { log } = await filled(dir.path, 2);
  await log.close();
  const text = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, text + `{"stage"`);
  await assert.rejects(readAuditTail(path, 1), /torn write/);
  await Deno.writeTextFile(path, text + `{"stage":"nope"}\n`);
  await assert.rejects(readAuditTail(path, 1), AuditLogError);
});
