import assert from "node:assert/strict";
import { sessionKeyHex } from "../cipher.ts";
import { SqliteError } from "../sqlite/mod.ts";
import { openInboundWriter, openOutboundReader, provisionSession, UnsafeSessionIdError } from "./host.ts";
import { openInboundReader, openOutboundWriter } from "./sandbox.ts";
import { CorruptionStreak, CorruptionStreakError } from "./corruption.ts";
import { openReader } from "./open.ts";
import { COLUMNS, decodeMessageIn } from "./codec.ts";
import { fileContains, fixedKey, LIBRARY, tempDir } from "../../tests/support/mod.ts";

const KEY = fixedKey(0x11);
const WRONG = fixedKey(0x22);
const opts = { library: LIBRARY, key: KEY };

Deno.test("inbound round trip: host writes, sandbox reads, read-only refuses writes, no plaintext", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_a", opts);
  using writer = openInboundWriter(paths.inbound, opts);
  const written = writer.writeMessageIn({
    id: "m1",
    seq: 2,
    kind: "chat",
    status: "queued",
    content: "secret-hello",
  });
  assert.equal(written.seq, 2);
  using reader = openInboundReader(paths.inbound, opts);
  const pending = reader.pendingMessages();
  assert.equal(pending.length, 1);
  assert.equal(pending[0].content, "secret-hello");
  assert.equal(pending[0].kind, "chat");
  assert.equal(fileContains(paths.inbound, "secret-hello"), false);
});

Deno.test("outbound round trip: sandbox writes, host reads", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_b", opts);
  using writer = openOutboundWriter(paths.outbound, opts);
  writer.writeMessageOut({ id: "o1", kind: "chat", content: "reply-marker-xyz" });
  using reader = openOutboundReader(paths.outbound, opts);
  const { messages, invalid } = reader.dueMessages();
  assert.deepEqual(invalid, []);
  assert.equal(messages.length, 1);
  assert.equal(messages[0].content, "reply-marker-xyz");
  assert.equal(messages[0].seq, 1);
  assert.equal(fileContains(paths.outbound, "reply-marker-xyz"), false);
});

Deno.test("a write through a read-only handle fails", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_c", opts);
  using reader = openInboundReader(paths.inbound, opts);
  // The role types carry no write method at all...
  assert.equal(typeof (reader as unknown as Record<string, unknown>).writeMessageIn, "undefined");
  using outbound = openOutboundReader(paths.outbound, opts);
  assert.equal(typeof (outbound as unknown as Record<string, unknown>).writeMessageOut, "undefined");
  // ...and the connection they are built on refuses writes, with query_only and a read-only open.
  for (const path of [paths.inbound, paths.outbound]) {
    using db = openReader(path, opts);
    assert.throws(
      () => db.exec("CREATE TABLE sneaky (x)"),
      (err: unknown) => err instanceof SqliteError && /read.?only|query_only/i.test(err.message),
    );
    db.exec("PRAGMA query_only = OFF");
    assert.throws(
      () => db.exec("CREATE TABLE sneaky (x)"),
      (err: unknown) => err instanceof SqliteError && err.kind === "read_only",
    );
  }
});

Deno.test("the wrong key fails at open, not at first query", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_d", opts);
  for (const open of [openInboundReader, openInboundWriter, openOutboundReader, openOutboundWriter]) {
    assert.throws(
      () => open(paths.inbound, { library: LIBRARY, key: WRONG }),
      (err: unknown) => err instanceof SqliteError && err.kind === "wrong_key",
    );
  }
  assert.throws(() => provisionSession(dir.path, "ses_d", { library: LIBRARY, key: WRONG }), SqliteError);
});

Deno.test("a plaintext file is told apart from a wrong key", () => {
  using dir = tempDir();
  const plain = `${dir.path}/plain.db`;
  provisionSession(dir.path, "ses_p", { library: LIBRARY, key: null });
  Deno.renameSync(`${dir.path}/ses_p/in/inbound.db`, plain);
  assert.throws(
    () => openInboundReader(plain, opts),
    (err: unknown) =>
      err instanceof SqliteError && err.kind === "not_a_database" && /plaintext/.test(err.message),
  );
});

Deno.test("unsafe session ids are refused by the provisioner", () => {
  using dir = tempDir();
  for (const id of ["", ".", "..", "../x", "a/b", "a\\b", "x..y"]) {
    assert.throws(() => provisionSession(dir.path, id, opts), UnsafeSessionIdError, JSON.stringify(id));
  }
  assert.deepEqual([...Deno.readDirSync(dir.path)], []);
});

Deno.test("provisioning is idempotent and keeps data; layout and modes", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_e", opts);
  assert.equal(paths.inbound, `${dir.path}/ses_e/in/inbound.db`);
  assert.equal(paths.outbound, `${dir.path}/ses_e/out/outbound.db`);
  {
    using w = openInboundWriter(paths.inbound, opts);
    w.writeMessageIn({ id: "keep", kind: "chat", content: "kept" });
  }
  provisionSession(dir.path, "ses_e", opts);
  using r = openInboundReader(paths.inbound, opts);
  assert.deepEqual(r.pendingMessages().map((m) => m.id), ["keep"]);
  assert.equal(Deno.statSync(paths.dir).mode! & 0o777, 0o700);
  assert.equal(Deno.statSync(paths.inbound).mode! & 0o777, 0o600);
});

Deno.test({
  name: "provisioning hands the queue directories to the sandbox uid",
  ignore: Deno.uid() !== 0,
  fn() {
    using dir = tempDir();
    const paths = provisionSession(dir.path, "ses_u", { ...opts, sandboxUid: 65532, sandboxGid: 65532 });
    for (const p of [paths.inboundDir, paths.inbound, paths.outboundDir, paths.outbound]) {
      assert.equal(Deno.statSync(p).uid, 65532, p);
    }
    assert.equal(Deno.statSync(paths.dir).uid, 0);
  },
});

Deno.test("session state survives a reopen; acks are visible to the host", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_f", opts);
  {
    using w = openOutboundWriter(paths.outbound, opts);
    w.putSessionState("loop.buffer", "[]");
    w.putSessionState("reset_at", "2026-01-01T00:00:00.000Z");
    w.markProcessing(["m1", "m2"]);
  }
  using w = openOutboundWriter(paths.outbound, opts);
  assert.deepEqual(w.loadSessionState(), { "loop.buffer": "[]", reset_at: "2026-01-01T00:00:00.000Z" });
  using host = openOutboundReader(paths.outbound, opts);
  assert.deepEqual(host.processingAcks().map((a) => [a.messageId, a.status]), [["m1", "processing"], [
    "m2",
    "processing",
  ]]);
  w.markCompleted(["m1", "m2"]);
  assert.deepEqual(host.processingAcks().map((a) => a.status), ["completed", "completed"]);
  assert.deepEqual(
    host.processingAcks(["m2", "m9"]).map((a) => a.messageId),
    ["m2"],
    "only the acks asked for",
  );
  assert.deepEqual(host.processingAcks([]), []);
});

Deno.test("a due read says where the first row not due yet is; statuses move forward with the marks in one commit", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_due", opts);
  using out = openOutboundWriter(paths.outbound, opts);
  out.writeMessageOut({ id: "o1", kind: "chat", content: "a" });
  out.writeMessageOut({ id: "o3", kind: "chat", content: "b", deliverAfter: "2999-01-01T00:00:00.000Z" });
  out.writeMessageOut({ id: "o5", kind: "chat", content: "c" });
  using reader = openOutboundReader(paths.outbound, opts);
  const batch = reader.dueMessages();
  assert.deepEqual(batch.messages.map((m) => m.seq), [1, 5]);
  assert.equal(batch.firstNotDueSeq, 3);
  assert.equal(reader.dueMessages(3).firstNotDueSeq, null);

  using w = openInboundWriter(paths.inbound, opts);
  w.writeMessageIn({ id: "m1", kind: "chat", content: "x" });
  w.writeMessageIn({ id: "m2", kind: "chat", content: "y" });
  assert.throws(() =>
    w.transaction(() => {
      w.markDelivered("o1");
      w.advanceStatuses([{ messageId: "m1", status: "completed" }]);
      throw new Error("cut short");
    }), /cut short/);
  assert.deepEqual([...w.deliveredIds()], [], "nothing of a rolled-back transaction stays");
  const moved = w.transaction(() => {
    w.markDelivered("o1");
    return w.advanceStatuses([{ messageId: "m1", status: "completed" }, {
      messageId: "m2",
      status: "processing",
    }]);
  });
  assert.equal(moved, 2);
  assert.equal(w.advanceStatuses([{ messageId: "m1", status: "processing" }]), 0, "never backward");
  using r = openInboundReader(paths.inbound, opts);
  assert.deepEqual(r.pendingMessages(), []);
  assert.deepEqual([...w.deliveredIds()], ["o1"]);
});

Deno.test("scheduled rows are withheld until due; routing, destinations and delivery marks", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_g", opts);
  using w = openInboundWriter(paths.inbound, opts);
  using r = openInboundReader(paths.inbound, opts);
  w.writeMessageIn({ id: "later", kind: "task", content: "x", processAfter: "2999-01-01T00:00:00.000Z" });
  w.writeMessageIn({ id: "past", kind: "task", content: "y", processAfter: "2000-01-01T00:00:00.000Z" });
  assert.deepEqual(r.pendingMessages().map((m) => [m.id, m.status]), [["past", "scheduled"]]);
  assert.equal(r.sessionRouting(), undefined);
  w.setSessionRouting({ channelType: "slack", platformId: "C123", threadId: null });
  assert.deepEqual(r.sessionRouting(), { channelType: "slack", platformId: "C123", threadId: null });
  w.syncDestinations([
    {
      name: "ops",
      displayName: "Ops",
      type: "channel",
      channelType: "slack",
      platformId: "C9",
      agentGroupId: null,
    },
  ]);
  w.syncDestinations([
    {
      name: "team",
      displayName: null,
      type: "channel",
      channelType: "slack",
      platformId: "C7",
      agentGroupId: null,
    },
  ]);
  assert.deepEqual(r.destinations().map((d) => d.name), ["team"]);
  w.syncTasks([
    { id: "t2", prompt: "later", nextRun: "2030-01-01T00:00:00.000Z", recurrence: "daily", state: "paused" },
    { id: "t1", prompt: "soon", nextRun: "2029-01-01T00:00:00.000Z", recurrence: null, state: "active" },
    { id: "t0", prompt: "gone", nextRun: null, recurrence: null, state: "cancelled" },
  ]);
  assert.deepEqual(r.tasks().map((t) => t.id), ["t1", "t2"]);
  w.markDelivered("o1", "ts-1");
  w.markDelivered("o1", "ts-2");
  assert.deepEqual([...w.deliveredIds()], ["o1"]);
});

Deno.test("the host reports hostile outbound rows without dropping the good ones", async () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_h", opts);
  using w = openOutboundWriter(paths.outbound, opts);
  w.writeMessageOut({ id: "good1", kind: "chat", content: "a" });
  // A hostile agent writes around the typed writer, straight into its own file.
  const { Database } = await import("../sqlite/mod.ts");
  using raw = Database.open(paths.outbound, { library: LIBRARY, key: KEY });
  raw.exec(
    "INSERT INTO messages_out (id, seq, timestamp, kind, content) VALUES ('../evil', 3, 'yesterday', 'shell', 'x')",
  );
  w.writeMessageOut({ id: "good2", kind: "chat", content: "b" });
  using host = openOutboundReader(paths.outbound, opts);
  const batch = host.dueMessages();
  assert.deepEqual(batch.messages.map((m) => m.id), ["good1", "good2"]);
  assert.equal(batch.invalid.length, 1);
  assert.equal(batch.invalid[0].seq, 3);
  assert.deepEqual(host.dueMessages(1).messages.map((m) => m.id), ["good2"]);
});

Deno.test("three corruption errors in a row are fatal; a success resets the streak", () => {
  const streak = new CorruptionStreak("/q/inbound.db");
  const corrupt = () => {
    throw new SqliteError("corrupt", "database disk image is malformed", 11, "/q/inbound.db");
  };
  assert.throws(() => streak.guard(corrupt), SqliteError);
  assert.throws(() => streak.guard(corrupt), SqliteError);
  streak.guard(() => 1);
  assert.equal(streak.count, 0);
  assert.throws(() => streak.guard(corrupt), SqliteError);
  assert.throws(() => streak.guard(corrupt), SqliteError);
  assert.throws(() => streak.guard(corrupt), CorruptionStreakError);
  assert.throws(() =>
    streak.guard(() => {
      throw new Error("busy elsewhere");
    }), /busy elsewhere/);
});

Deno.test("a real reader over a garbled file hits the streak", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_i", opts);
  using w = openInboundWriter(paths.inbound, opts);
  w.writeMessageIn({ id: "m", kind: "chat", content: "x".repeat(5000) });
  using r = openInboundReader(paths.inbound, opts);
  const file = Deno.openSync(paths.inbound, { write: true });
  file.seekSync(4096 + 100, Deno.SeekMode.Start);
  file.writeSync(new Uint8Array(64).fill(0xab));
  file.close();
  let last: unknown;
  for (let i = 0; i < 3; i++) {
    try {
      r.pendingMessages();
    } catch (err) {
      last = err;
    }
  }
  assert.ok(last instanceof CorruptionStreakError, String(last));
});

const SUPPORT = new URL("../../tests/support/queue_process.ts", import.meta.url).pathname;

function spawnQueueProcess(args: string[], stdin: "piped" | "null" = "null") {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-ffi", "--allow-env", SUPPORT, ...args],
    stdin,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("a row written after the reader opened is visible on its next poll from another process", async () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_j", opts);
  using writer = openInboundWriter(paths.inbound, opts);
  const child = spawnQueueProcess(["poll-inbound", paths.inbound, sessionKeyHex(KEY)], "piped");
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stdin = child.stdin.getWriter();
  const nextLine = async () => {
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`reader exited: ${text}`);
      text += value;
    }
    return JSON.parse(text.trim());
  };
  assert.equal(await nextLine(), 0);
  writer.writeMessageIn({ id: "h1", seq: 2, kind: "chat", status: "queued", content: "hello from host" });
  await stdin.write(new TextEncoder().encode("poll\n"));
  assert.deepEqual(await nextLine(), [{ content: "hello from host", seq: 2 }]);
  await stdin.close();
  await lines.cancel();
  const status = await child.status;
  await child.stderr.cancel();
  assert.ok(status.success);
});

Deno.test("concurrent writer processes mint distinct seqs of the right parity", async () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_k", opts);
  const keyHex = sessionKeyHex(KEY);
  const run = async (mode: string, path: string) => {
    const out = await spawnQueueProcess([mode, path, keyHex, "25"]).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    return JSON.parse(new TextDecoder().decode(out.stdout)) as number[];
  };
  const inbound = (await Promise.all([1, 2, 3, 4].map(() => run("write-inbound", paths.inbound)))).flat();
  const outbound = (await Promise.all([1, 2, 3].map(() => run("write-outbound", paths.outbound)))).flat();
  assert.equal(new Set(inbound).size, 100);
  assert.ok(inbound.every((s) => s % 2 === 0 && s > 0));
  assert.equal(new Set(outbound).size, 75);
  assert.ok(outbound.every((s) => s % 2 === 1));
  using r = openInboundReader(paths.inbound, opts);
  assert.equal(r.pendingMessages().length, 100);
});

Deno.test("a batch of inbound writes is all or nothing", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_m", opts);
  using w = openInboundWriter(paths.inbound, opts);
  const seqs = w.writeMessagesIn([1, 2, 3].map((i) => ({ id: `b${i}`, kind: "chat" as const, content: "x" })))
    .map((m) => m.seq);
  assert.deepEqual(seqs, [2, 4, 6]);
  assert.throws(() =>
    w.writeMessagesIn([{ id: "c1", kind: "chat", content: "x" }, { id: "b1", kind: "chat", content: "dup" }])
  );
  using r = openInboundReader(paths.inbound, opts);
  assert.deepEqual(r.pendingMessages().map((m) => m.id), ["b1", "b2", "b3"]);
});

Deno.test("many writer handles in one process interleave without seq collisions", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_l", opts);
  const writers = Array.from({ length: 8 }, () => openInboundWriter(paths.inbound, opts));
  const seqs = writers.flatMap((w, i) =>
    [0, 1, 2].map((j) => w.writeMessageIn({ id: `w${i}_${j}`, kind: "chat", content: "x" }).seq)
  );
  writers.forEach((w) => w.close());
  assert.equal(new Set(seqs).size, seqs.length);
  assert.ok(seqs.every((s) => s % 2 === 0));
});

Deno.test("outbound transaction: one commit for several writes, none of them after a throw", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_tx", opts);
  using w = openOutboundWriter(paths.outbound, opts);
  const written = w.transaction(() => {
    const m = w.writeMessageOut({ id: "o1", kind: "chat", content: "kept" });
    w.markCompleted(["in_1"]); // a nested transaction joins the outer one
    w.putSessionState("k", "v1");
    return m;
  });
  assert.equal(written.seq, 1);
  assert.throws(
    () =>
      w.transaction(() => {
        w.writeMessageOut({ id: "o2", kind: "chat", content: "dropped" });
        w.putSessionState("k", "v2");
        throw new Error("boom");
      }),
    /boom/,
  );
  using reader = openOutboundReader(paths.outbound, opts);
  assert.deepEqual(reader.dueMessages().messages.map((m) => m.id), ["o1"]);
  assert.deepEqual(reader.processingAcks().map((a) => [a.messageId, a.status]), [["in_1", "completed"]]);
  assert.deepEqual(reader.sessionState(), { k: "v1" });
  // The handle is usable after the rollback.
  w.putSessionState("k", "v3");
  assert.equal(reader.sessionState().k, "v3");
});

Deno.test("the agent's poll reads only waiting rows through the status index, not the whole history", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_idx", opts);
  using db = openReader(paths.inbound, opts);
  const plan = db.all(
    `EXPLAIN QUERY PLAN SELECT id FROM messages_in
     WHERE status IN ('queued', 'scheduled') AND (process_after IS NULL OR process_after <= ?) ORDER BY seq`,
    ["2026-01-01T00:00:00.000Z"],
  ).map((r) => String(r.detail)).join("; ");
  assert.match(plan, /USING INDEX messages_in_status_seq \(status=\?\)/, plan);
});

Deno.test("inbound read transaction: several reads as one, the next one sees the host's later writes", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_read", opts);
  using writer = openInboundWriter(paths.inbound, opts);
  writer.setSessionRouting({ channelType: "slack", platformId: "C1", threadId: null });
  writer.writeMessageIn({ id: "m1", kind: "chat", content: "one" });
  using reader = openInboundReader(paths.inbound, opts);
  const [pending, routing] = reader.read(
    () => [reader.pendingMessages(), reader.read(() => reader.sessionRouting())],
  );
  assert.deepEqual([pending.length, routing?.platformId], [1, "C1"]);
  assert.throws(() => reader.read(() => reader.tasks() && assert.fail("boom")), /boom/);
  writer.writeMessageIn({ id: "m2", kind: "chat", content: "two" });
  assert.deepEqual(reader.read(() => reader.pendingMessages().map((m) => m.id)), ["m1", "m2"]);
});

Deno.test("a restarting agent's reads: the messages the host mirrors as processing (through the status index), its own acks", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_restore", opts);
  using writer = openInboundWriter(paths.inbound, opts);
  for (const id of ["m1", "m2", "m3"]) writer.writeMessageIn({ id, kind: "chat", content: id });
  writer.advanceStatuses([{ messageId: "m3", status: "processing" }, {
    messageId: "m1",
    status: "processing",
  }]);
  writer.advanceStatuses([{ messageId: "m1", status: "completed" }]);
  using reader = openInboundReader(paths.inbound, opts);
  assert.deepEqual(reader.engagedMessages().map((m) => [m.id, m.status]), [["m3", "processing"]]);
  using db = openReader(paths.inbound, opts);
  const plan = db.all(
    `EXPLAIN QUERY PLAN SELECT id FROM messages_in WHERE status = 'processing' ORDER BY seq`,
  )
    .map((r) => String(r.detail)).join("; ");
  assert.match(plan, /USING INDEX messages_in_status_seq \(status=\?\)/, plan);

  using outbound = openOutboundWriter(paths.outbound, { ...opts, privateLocks: true });
  outbound.markProcessing(["m2", "m3"]);
  outbound.markCompleted(["m2"]);
  assert.deepEqual(outbound.processingAcks(["m1", "m2", "m3"]).map((a) => [a.messageId, a.status]), [
    ["m2", "completed"],
    ["m3", "processing"],
  ]);
  assert.deepEqual(outbound.processingAcks([]), []);
});

Deno.test("writeMessageIn returns the row exactly as it reads back (it parses only its input)", () => {
  using dir = tempDir();
  const paths = provisionSession(dir.path, "ses_w", opts);
  using writer = openInboundWriter(paths.inbound, opts);
  const written = [
    writer.writeMessageIn({ id: "plain", kind: "chat", content: "x" }),
    writer.writeMessageIn({
      id: "later",
      kind: "task",
      content: "y",
      processAfter: "2999-01-01T00:00:00.000Z",
    }),
    writer.writeMessageIn({
      id: "full",
      seq: 40,
      kind: "chat",
      timestamp: "2026-12-07T10:00:00.000Z",
      status: "processing",
      recurrence: "0 9 * * *",
      seriesId: "s1",
      tries: 2,
      trigger: 0,
      platformId: "C1",
      channelType: "slack",
      threadId: "t1",
      content: "z",
      sourceSessionId: "ses_other",
      onWake: true,
    }),
  ];
  using db = openReader(paths.inbound, opts);
  for (const w of written) {
    assert.deepEqual(
      w,
      decodeMessageIn(db.get(`SELECT ${COLUMNS.messagesIn} FROM messages_in WHERE id = ?`, [w.id])!),
    );
  }
});
