/**
 * A warm spare's rehearsal of its first turn, before it waits for a claim.
 *
 * Under gVisor's ptrace platform a process pays for every first time: the
 * first `dlopen` of libsqlcipher and every page of it touched, SQLCipher's
 * first codec and OpenSSL set-up, the first encrypted file created,
 * journaled and synced, the provider SDK's first client and request, the
 * tools' JSON schemas, and V8 compiling each function at its first call. A
 * cold agent pays all of it inside its first turn, after its boot; a spare
 * boots ahead, so it pays it here instead, on throwaway data:
 *
 * - {@link rehearseQueues}: two scratch queue files in its own outbound
 *   directory (bound to it alone, and empty until its claim), encrypted
 *   with a random key that is never kept, run through what the first turn
 *   runs, then removed. The host refuses to hand out a spare whose
 *   directories hold anything (`unexpectedEntries`), so a rehearsal that
 *   could not clean up costs a cold start, never a leak.
 * - {@link rehearseAnswer}: the MCP listing and one model call, each over an
 *   HTTP/1.1 connection that exists only in memory and answers a fixed
 *   reply: nothing is sent anywhere (a spare has no model or broker socket
 *   before its claim).
 *
 * The spare holds nothing of any conversation before or after.
 *
 * @module
 */
import { asSessionKey, CIPHER } from "../contract/cipher.ts";
import { Http1Client } from "../contract/http1_client.ts";
import { newMessageId } from "../contract/ids.ts";
import type { ProviderKind } from "../contract/sockets.ts";
import { openWriter } from "../contract/queue/mod.ts";
import { openInboundReader, openOutboundWriter } from "../contract/queue/sandbox.ts";
import { INBOUND_SCHEMA } from "../contract/schema.ts";
import type { Logger } from "./log.ts";
import { StateStore } from "./loop/mod.ts";
import { modelBackend, PROVIDER_WIRES, userText } from "./model/mod.ts";
import { McpTools, type ToolRegistry } from "./tools/mod.ts";

/** The scratch files' names: dot names, never a queue file's. */
const SCRATCH = { inbound: ".rehearsal-inbound.db", outbound: ".rehearsal-outbound.db" } as const;
/** What SQLite may leave beside a database file. */
const SIDE_FILES = ["", "-journal", "-wal", "-shm"];

/**
 * Runs the first turn's queue work on scratch files in `dir` (the spare's
 * outbound directory) and removes them. Never throws: a failed rehearsal
 * only means the first turn pays for itself (it is logged).
 */
export function rehearseQueues(
  dir: string,
  options: { library: string; log: Logger; privateLocks?: boolean },
): void {
  const { library, log } = options;
  const started = performance.now();
  const paths = { inbound: `${dir}/${SCRATCH.inbound}`, outbound: `${dir}/${SCRATCH.outbound}` };
  try {
    const opts = { library, key: asSessionKey(crypto.getRandomValues(new Uint8Array(CIPHER.keyBytes))) };
    // The host provisions inbound; the agent only ever opens it read-only, as below.
    openWriter(paths.inbound, opts, INBOUND_SCHEMA).close();
    // Opened as the session's will be (`--queue-locks`), so the first turn's own code paths are the rehearsed ones.
    using outbound = openOutboundWriter(paths.outbound, { ...opts, privateLocks: options.privateLocks });
    using inbound = openInboundReader(paths.inbound, { ...opts, privateLocks: options.privateLocks });
    // The first poll: read inbound, restore the state (the history, the engaged messages and their
    // acknowledgements), engage (mark processing).
    const store = new StateStore(outbound, log);
    const id = newMessageId("in");
    inbound.read(() => {
      inbound.pendingMessages();
      store.load();
      inbound.engagedMessages();
      outbound.processingAcks([id]);
      inbound.sessionRouting();
      inbound.destinations();
    });
    store.transaction(() => outbound.markProcessing([id]));
    // The reply: its row, the history, the message completed, in one transaction.
    store.transaction(() => {
      outbound.writeMessageOut({ id: newMessageId("out"), kind: "chat", content: "", inReplyTo: id });
      store.saveHistory([[]]);
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

/** What the rehearsal's in-memory model answers, in each wire's own shape (parsed by its SDK like a real one). */
const MODEL_REPLIES: Record<"anthropic" | "openai", unknown> = {
  anthropic: {
    id: "msg_rehearsal",
    type: "message",
    role: "assistant",
    model: "rehearsal",
    content: [{ type: "text", text: "rehearsal" }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 1, output_tokens: 1 },
  },
  openai: {
    id: "chatcmpl-rehearsal",
    object: "chat.completion",
    created: 0,
    model: "rehearsal",
    choices: [{ index: 0, message: { role: "assistant", content: "rehearsal" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  },
};

/** The MCP broker's listing of a group with no grants. */
const MCP_LISTING = { tools: [], unavailable: [] };

/**
 * Runs an answer's model work once in-process: the MCP listing and a model
 * call of `provider`'s wire with the agent's tool specs (converted now, and
 * kept: the specs are cached per tool). Never throws (a failure is logged).
 */
export async function rehearseAnswer(
  options: { provider: ProviderKind; model?: string; tools: ToolRegistry; log: Logger },
): Promise<void> {
  const { provider, tools, log } = options;
  const started = performance.now();
  try {
    using broker = inMemoryFetch(MCP_LISTING);
    await new McpTools(broker).list();
    using model = inMemoryFetch(MODEL_REPLIES[PROVIDER_WIRES[provider]]);
    const client = await modelBackend(provider, { model: options.model, fetch: model });
    await client.converse({ system: "rehearsal", messages: [userText("rehearsal")], tools: tools.specs() });
  } catch (err) {
    log.warn("spare.rehearsal_failed", {
      part: "answer",
      error: err instanceof Error ? err.name : "unknown",
    });
  }
  log.info("spare.rehearsed_answer", { ms: Math.round(performance.now() - started) });
}

/** A `fetch` whose every request is answered `body` (200, JSON) by a connection that exists only in memory. */
function inMemoryFetch(body: unknown): typeof fetch & Disposable {
  const json = new TextEncoder().encode(JSON.stringify(body));
  const head = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${json.length}\r\n\r\n`;
  const response = new Uint8Array([...new TextEncoder().encode(head), ...json]);
  const client = new Http1Client({
    connect: () => Promise.resolve(answeringConn(response)),
    target: "absolute",
  });
  const send: typeof fetch = (input, init) => client.fetch(new Request(input, init));
  return Object.assign(send, { [Symbol.dispose]: () => client.close() });
}

/** A connection that takes whatever is written to it and reads back `response`, then its end. */
function answeringConn(response: Uint8Array): Deno.Conn {
  let unread = response;
  const conn: Pick<Deno.Conn, "read" | "write" | "close"> = {
    write: (bytes) => Promise.resolve(bytes.length),
    read: (into) => {
      if (unread.length === 0) return Promise.resolve(null);
      const n = Math.min(into.length, unread.length);
      into.set(unread.subarray(0, n));
      unread = unread.subarray(n);
      return Promise.resolve(n);
    },
    close: () => {},
  };
  return conn as Deno.Conn;
}
