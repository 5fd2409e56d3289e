/**
 * The sandbox's queue role under the agent's exact permission flags (run by
 * `scoped_ffi_test.ts`). Args: `<inbound> <outbound> <key file> <library>`.
 * Prints one JSON line: what it read, the seq it wrote, and whether Deno's
 * pointer operations were refused (they must be, or the flags grew).
 *
 * @module
 */
import { parseSessionKeyFile } from "../../cipher.ts";
import { openInboundReader, openOutboundWriter } from "../sandbox.ts";

const [inbound, outbound, keyFile, library] = Deno.args;
const opts = { library, key: parseSessionKeyFile(Deno.readFileSync(keyFile)) };
using reader = openInboundReader(inbound, opts);
using writer = openOutboundWriter(outbound, opts);
const read = reader.pendingMessages().map((m) => m.content);
const tasks = reader.tasks().map((t) => t.id);
const written = writer.writeMessageOut({ id: "out_scoped", kind: "chat", content: `echo ${read.join(",")}` });
writer.putSessionState("seen", String(read.length));
let pointerOps = "allowed";
try {
  Deno.UnsafePointer.create(1n);
} catch (err) {
  pointerOps = err instanceof Error ? err.name : String(err);
}
console.log(JSON.stringify({ read, tasks, seq: written.seq, state: writer.loadSessionState(), pointerOps }));
