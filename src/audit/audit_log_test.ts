import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { AuditEntry } from "../../contract/gateway.ts";
import { canonicalJson } from "../../contract/json.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { AUDIT_LOG_FILE, AuditLog } from "./audit_log.ts";
import type { AuditAnchor } from "./anchor.ts";
import { entryHash, importAuditKey } from "./entry.ts";
import { AuditLogError } from "./errors.ts";
import { verifyAuditFile } from "./verify.ts";

const STAGES = ["submit", "verdict", "decision", "apply"] as const;

/** A log at a fresh path holding `n` entries (closed); returns the path and the entries. */
async function written(dir: string, n: number): Promise<{ path: string; entries: AuditEntry[] }> {
  const path = join(dir, AUDIT_LOG_FILE);
  const log = await AuditLog.open(path);
  const entries: AuditEntry[] = [];
  for (let i = 0; i < n; i++) {
    entries.push(
      await log.append({ stage: STAGES[i % 4], changeId: `chg_${i}`, detail: `approve by web:alice${i}` }),
    );
  }
  await log.close();
  return { path, entries };
}

async function lines(path: string): Promise<string[]> {
  return (await Deno.readTextFile(path)).split("\n");
}

async function openError(path: string): Promise<AuditLogError> {
  const err = await AuditLog.open(path).then(() => undefined, (e) => e);
  assert.ok(err instanceof AuditLogError, `expected AuditLogError, got ${err}`);
  return err;
}

Deno.test("entries chain by hash, are SHA-256 of their canonical JSON, and the file verifies", async () => {
  using dir = tempDir();
  const { path, entries } = await written(dir.path, 5);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.equal(entries[0].prev, "");
  for (const [i, entry] of entries.entries()) {
    if (i > 0) assert.equal(entry.prev, entries[i - 1].hash);
    const { hash, ...body } = entry;
    assert.equal(hash, createHash("sha256").update(canonicalJson(body)).digest("hex"));
  }
  const stored = await lines(path);
  assert.deepEqual(stored, [...entries.map((e) => canonicalJson(e)), ""]);
  assert.deepEqual(await verifyAuditFile(path), {
    ok: true,
    lines: 5,
    head: entries[4].hash,
    legacyLines: 5,
    anchored: false,
  });
});

Deno.test("kind and detail are omitted when not given", async () => {
  using dir = tempDir();
  const log = await AuditLog.open(join(dir.path, AUDIT_LOG_FILE));
  const bare = await log.append({ stage: "apply", changeId: "chg_1" });
  const full = await log.append({ stage: "submit", changeId: "chg_2", kind: "persona", detail: "web:bob" });
  await log.close();
  assert.deepEqual(Object.keys(bare).sort(), ["changeId", "hash", "prev", "stage", "time"]);
  assert.equal(full.kind, "persona");
  assert.equal(full.detail, "web:bob");
});

Deno.test("a one-byte edit of a past line is reported at that line", async () => {
  using dir = tempDir();
  const { path } = await written(dir.path, 5);
  const text = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, text.replace("alice2", "alicf2"));
  assert.deepEqual(await verifyAuditFile(path), {
    ok: false,
    line: 3,
    reason: "hash does not match the line's content (altered, or keyed: the audit key is needed)",
  });
});

Deno.test("keyed: a legacy log continues under the key, the anchor follows, and a recomputed or truncated file is caught", async () => {
  using dir = tempDir();
  const { path } = await written(dir.path, 2);
  const key = await importAuditKey(crypto.getRandomValues(new Uint8Array(32)));
  let stored: AuditAnchor | undefined;
  const anchor = { read: () => stored, write: (a: AuditAnchor) => void (stored = a) };
  const log = await AuditLog.open(path, { key, anchor });
  assert.deepEqual(stored, { lines: 2, head: log.head }, "the legacy chain is anchored on first keyed open");
  const keyed = await log.append({ stage: "submit", changeId: "chg_k", detail: "web:bob" });
  await log.close();
  assert.deepEqual(stored, { lines: 3, head: keyed.hash });
  assert.notEqual(keyed.hash, await entryHash(keyed), "new lines are HMACs, not plain SHA-256");
  assert.deepEqual(await verifyAuditFile(path, { key, anchor: stored }), {
    ok: true,
    lines: 3,
    head: keyed.hash,
    legacyLines: 2,
    anchored: true,
  });

  // The file's writer edits the keyed line and recomputes its hash the only way it can: plain SHA-256.
  const original = await Deno.readTextFile(path);
  const [l1, l2, l3] = original.trimEnd().split("\n").map((l) => JSON.parse(l));
  const forged = { ...l3, detail: "web:mallory" };
  forged.hash = await entryHash(forged);
  await Deno.writeTextFile(path, [l1, l2, forged].map((e) => JSON.stringify(e)).join("\n") + "\n");
  const rewritten = await verifyAuditFile(path, { key, anchor: stored });
  assert.equal(rewritten.ok, false);
  assert.match(
    !rewritten.ok ? rewritten.reason : "",
    /^an unkeyed line after keyed ones|state database records 3 lines/,
  );
  // Without the anchor the forged line is still not under the key (legacy lines only before the anchor).
  assert.equal((await verifyAuditFile(path, { key, anchor: { lines: 2, head: l2.hash } })).ok, false);

  // Dropping the last line leaves a chain that links, but not to the anchor.
  await Deno.writeTextFile(path, original.split("\n").slice(0, 2).join("\n") + "\n");
  const truncated = await verifyAuditFile(path, { key, anchor: stored });
  assert.deepEqual(truncated.ok ? undefined : [truncated.line, truncated.reason.includes("truncated")], [
    0,
    true,
  ]);
  const reopen = await AuditLog.open(path, { key, anchor }).catch((e) => e);
  assert.ok(reopen instanceof AuditLogError, "a truncated log is not extended");
});

Deno.test("a deleted line, a reordered pair, and an inserted line are reported where the chain breaks", async () => {
  using dir = tempDir();
  const { path } = await written(dir.path, 5);
  const original = await lines(path);
  const cases: [string[], number][] = [
    [original.toSpliced(1, 1), 2],
    [[original[0], original[2], original[1], ...original.slice(3)], 2],
    [original.toSpliced(0, 1), 1],
    [original.toSpliced(4, 0, original[1]), 5],
  ];
  for (const [edited, line] of cases) {
    await Deno.writeTextFile(path, edited.join("\n"));
    const result = await verifyAuditFile(path);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.line, line);
    assert.match(!result.ok ? result.reason : "", /^prev does not match/);
  }
});

Deno.test("a truncated last line, bad JSON, a non-entry and non-canonical spacing are each reported", async () => {
  using dir = tempDir();
  const { path } = await written(dir.path, 3);
  const original = await Deno.readTextFile(path);
  const [l1, l2, l3] = original.split("\n");
  const cases: [string, number, RegExp][] = [
    [original.slice(0, -10), 3, /torn write/],
    [original.slice(0, -1), 3, /torn write/],
    [`${l1}\n{"oops"\n${l3}\n`, 2, /not valid JSON/],
    [`${l1}\n{"stage":"submit"}\n${l3}\n`, 2, /not an audit entry/],
    [`${l1}\n${l2.replace(`"stage":`, `"stage": `)}\n${l3}\n`, 2, /not in canonical form/],
    [`${l1}\n\n${l2}\n`, 2, /not valid JSON/],
  ];
  for (const [text, line, reason] of cases) {
    await Deno.writeTextFile(path, text);
    const result = await verifyAuditFile(path);
    assert.ok(!result.ok && result.line === line && reason.test(result.reason), JSON.stringify(result));
  }
});

Deno.test("verification of an empty or missing file", async () => {
  using dir = tempDir();
  const path = join(dir.path, AUDIT_LOG_FILE);
  assert.deepEqual(await verifyAuditFile(path), { ok: false, line: 0, reason: "file does not exist" });
  await Deno.writeTextFile(path, "");
  assert.deepEqual(await verifyAuditFile(path), {
    ok: true,
    lines: 0,
    head: "",
    legacyLines: 0,
    anchored: false,
  });
});

Deno.test("concurrent appends never interleave and keep the chain valid", async () => {
  using dir = tempDir();
  const path = join(dir.path, AUDIT_LOG_FILE);
  const log = await AuditLog.open(path);
  const appended = await Promise.all(
    Array.from(
      { length: 40 },
      (_, i) => log.append({ stage: "submit", changeId: `chg_${i}`, detail: "x".repeat(i * 50) }),
    ),
  );
  await log.close();
  assert.deepEqual(await verifyAuditFile(path), {
    ok: true,
    lines: 40,
    head: log.head,
    legacyLines: 40,
    anchored: false,
  });
  assert.deepEqual(appended.map((e) => e.changeId), Array.from({ length: 40 }, (_, i) => `chg_${i}`));
});

Deno.test("reopening continues the chain from the last line", async () => {
  using dir = tempDir();
  const { path, entries } = await written(dir.path, 3);
  const log = await AuditLog.open(path);
  assert.equal(log.head, entries[2].hash);
  const next = await log.append({ stage: "apply", changeId: "chg_9" });
  await log.close();
  assert.equal(next.prev, entries[2].hash);
  assert.deepEqual(await verifyAuditFile(path), {
    ok: true,
    lines: 4,
    head: next.hash,
    legacyLines: 4,
    anchored: false,
  });
});

Deno.test("open refuses a torn last line from a crash, and leaves the file untouched", async () => {
  using dir = tempDir();
  const { path } = await written(dir.path, 2);
  const torn = (await Deno.readTextFile(path)) + `{"changeId":"chg_3","hash":"ab`;
  await Deno.writeTextFile(path, torn);
  const err = await openError(path);
  assert.match(
    err.message,
    /line 3: line has no trailing newline \(torn write\); refusing to extend a broken chain/,
  );
  assert.equal(await Deno.readTextFile(path), torn);
});

Deno.test("open refuses an altered chain and a file open to group or other", async () => {
  using dir = tempDir();
  const { path } = await written(dir.path, 3);
  const text = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, text.replace("alice0", "mallet"));
  assert.match((await openError(path)).message, /line 1: hash does not match/);
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, 0o644);
  assert.match((await openError(path)).message, /mode 0644.*chmod 600/);
});

Deno.test("an invalid entry or an append after close is refused and leaves the log intact", async () => {
  using dir = tempDir();
  const { path } = await written(dir.path, 1);
  const log = await AuditLog.open(path);
  await assert.rejects(
    log.append({ stage: "submit", changeId: "../etc" }),
    /not an audit entry \(changeId: /,
  );
  // deno-lint-ignore no-explicit-any
  await assert.rejects(log.append({ stage: "bogus" as any, changeId: "chg_1" }), AuditLogError);
  await log.close();
  await assert.rejects(log.append({ stage: "apply", changeId: "chg_1" }), /closed/);
  assert.deepEqual(await verifyAuditFile(path), {
    ok: true,
    lines: 1,
    head: log.head,
    legacyLines: 1,
    anchored: false,
  });
});

Deno.test("verify on an open log waits for appends in flight and sees every line", async () => {
  using dir = tempDir();
  const log = await AuditLog.open(join(dir.path, AUDIT_LOG_FILE));
  try {
    const appends = Array.from(
      { length: 20 },
      (_, i) => log.append({ stage: "submit", changeId: `chg_${i}` }),
    );
    const verified = await log.verify();
    await Promise.all(appends);
    assert.deepEqual(verified, { ok: true, lines: 20, head: log.head, legacyLines: 20, anchored: false });
  } finally {
    await log.close();
  }
});
