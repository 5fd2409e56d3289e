/**
 * Benchmark peer: polls an inbound queue every `pollMs` and prints
 * `<id> <wall-clock ms>` the first time it sees each message.
 *
 * Usage: poll_child.ts <path> <keyhex|plain> <pollMs> <count>
 *
 * @module
 */
import { parseSessionKeyFile } from "../../contract/cipher.ts";
import { openInboundReader } from "../../contract/queue/sandbox.ts";
import { resolveLibraryPath } from "../../contract/sqlite/mod.ts";

const [path, keyArg, pollMs, count] = Deno.args;
const key = keyArg === "plain" ? null : parseSessionKeyFile(new TextEncoder().encode(keyArg));
using reader = openInboundReader(path, { library: resolveLibraryPath(), key });
const seen = new Set<string>();
const encoder = new TextEncoder();
await Deno.stdout.write(encoder.encode("ready\n"));
while (seen.size < Number(count)) {
  for (const m of reader.pendingMessages()) {
    if (seen.has(m.id)) continue;
    seen.add(m.id);
    await Deno.stdout.write(encoder.encode(`${m.id} ${performance.timeOrigin + performance.now()}\n`));
  }
  await new Promise((resolve) => setTimeout(resolve, Number(pollMs)));
}
