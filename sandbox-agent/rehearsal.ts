/**
 * A warm spare's rehearsal of its first turn, before it waits for a claim.
 *
 * Under gVisor's ptrace platform a process pays for every first time: the
 * first `dlopen` of libsqlcipher and every page of it touched, SQLCipher's
 * first codec and OpenSSL set-up, the first encrypted file created,
 * journaled and synced, and V8 compiling each queue function at its first
 * call. A cold agent pays all of it inside its first turn, after its boot;
 * a spare boots ahead, so it pays it here instead, on throwaway data: two
 * scratch queue files in its own outbound directory (bound to it alone, and
 * empty until its claim), encrypted with a random key that is never kept,
 * run through what the first turn runs, then removed. The spare holds
 * nothing of any conversation before or after: the host refuses to hand out
 * a spare whose directories hold anything (`unexpectedEntries`), so a
 * rehearsal that could not clean up costs a cold start, never a leak.
 *
 * @module
 */
import { asSessionKey, CIPHER } from "../contract/cipher.ts";
import { newMessageId } from "../contract/ids.ts";
import { openWriter } from "../contract/queue/mod.ts";
import { openInboundReader, openOutboundWriter } from "../contract/queue/sandbox.ts";
import { INBOUND_SCHEMA } from "../contract/schema.ts";
import type { Logger } from "./log.ts";
import { StateStore } from "./loop/mod.ts";

/** The scratch files' names: dot names, never a queue file's. */
const SCRATCH = { inbound: ".rehearsal-inbound.db", outbound: ".rehearsal-outbound.db" } as const;
/** What SQLite may leave beside a database file. */
const SIDE_FILES = ["", "-journal", "-wal", "-shm"];

/**
 * Runs the first turn's queue work on scratch files in `dir` (the spare's
 * outbound directory) and removes them. Never throws: a failed rehearsal
 * only means the first turn pays for itself (it is logged).
 */
export function rehearseQueues(dir: string, options: { library: string; log: Logger }): void {
  const { library, log } = options;
  const started = performance.now();
  const paths = { inbound: `${dir}/${SCRATCH.inbound}`, outbound: `${dir}/${SCRATCH.outbound}` };
  try {
    const opts = { library, key: asSessionKey(crypto.getRandomValues(new Uint8Array(CIPHER.keyBytes))) };
    // The host provisions inbound; the agent only ever opens it read-only, as below.
    openWriter(paths.inbound, opts, INBOUND_SCHEMA).close();
    using outbound = openOutboundWriter(paths.outbound, opts);
    using inbound = openInboundReader(paths.inbound, opts);
    // The first poll: restore the state, read inbound, engage (mark processing, save the buffer).
    const store = new StateStore(outbound, log);
    store.load();
    inbound.pendingMessages();
    inbound.sessionRouting();
    inbound.destinations();
    const id = newMessageId("in");
    outbound.transaction(() => {
      outbound.markProcessing([id]);
      store.save("buffer", []);
    });
    // The reply: its row, the history and the done ids, the message completed, in one transaction.
    outbound.transaction(() => {
      outbound.writeMessageOut({ id: newMessageId("out"), kind: "chat", content: "", inReplyTo: id });
      store.save("history", []);
      store.save("doneIds", [id]);
      outbound.markCompleted([id]);
    });
  } catch (err) {
    log.warn("spare.rehearsal_failed", { error: err instanceof Error ? err.name : "unknown" });
  } finally {
    removeScratch(Object.values(paths), log);
  }
  log.info("spare.rehearsed", { ms: Math.round(performance.now() - started) });
}

function removeScratch(paths: string[], log: Logger): void {
  for (const path of paths) {
    for (const suffix of SIDE_FILES) {
      try {
        Deno.removeSync(`${path}${suffix}`);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) {
          log.warn("spare.rehearsal_left", { file: `${path}${suffix}`.split("/").pop() });
        }
      }
    }
  }
}
