/**
 * A second process for queue tests. Modes:
 * - `write-inbound <path> <keyhex> <n>` / `write-outbound …`: append n rows, print their seqs as JSON.
 * - `poll-inbound <path> <keyhex>`: open a reader, print the first poll's count, then on each stdin
 *   line poll again and print the rows' contents as JSON; exit on EOF.
 *
 * @module
 */
import { parseSessionKeyFile } from "../../contract/cipher.ts";
import { openInboundWriter } from "../../contract/queue/host.ts";
import { openInboundReader, openOutboundWriter } from "../../contract/queue/sandbox.ts";
import { LIBRARY } from "./mod.ts";

const [mode, path, keyHex, count] = Deno.args;
const opts = { library: LIBRARY, key: parseSessionKeyFile(new TextEncoder().encode(keyHex)) };
const tag = `${Deno.pid}`;

if (mode === "write-inbound") {
  using w = openInboundWriter(path, opts);
  const seqs = Array.from(
    { length: Number(count) },
    (_, i) => w.writeMessageIn({ id: `in_${tag}_${i}`, kind: "chat", content: `from ${tag}` }).seq,
  );
  console.log(JSON.stringify(seqs));
} else if (mode === "write-outbound") {
  using w = openOutboundWriter(path, opts);
  const seqs = Array.from(
    { length: Number(count) },
    (_, i) => w.writeMessageOut({ id: `out_${tag}_${i}`, kind: "chat", content: `from ${tag}` }).seq,
  );
  console.log(JSON.stringify(seqs));
} else if (mode === "poll-inbound") {
  using r = openInboundReader(path, opts);
  console.log(JSON.stringify(r.pendingMessages().length));
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let buffered = "";
  for await (const chunk of lines) {
    buffered += chunk;
    while (buffered.includes("\n")) {
      buffered = buffered.slice(buffered.indexOf("\n") + 1);
      console.log(JSON.stringify(r.pendingMessages().map((m) => ({ content: m.content, seq: m.seq }))));
    }
  }
} else {
  console.error(`unknown mode ${mode}`);
  Deno.exit(2);
}
