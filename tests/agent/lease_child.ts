/**
 * A stand-in agent for `lease_test.ts`, in its own process: it opens the
 * outbound queue and appends rows, each in a lease turn, with a marker file
 * present for exactly the length of the turn's transaction. The host checks
 * the marker is absent whenever it holds the files.
 *
 * Arguments: lease socket, marker path, outbound path, libsqlcipher, key (hex), row count.
 */
import { parseSessionKeyFile } from "../../contract/cipher.ts";
import { openOutboundWriter } from "../../contract/queue/sandbox.ts";
import { jsonLogger } from "../../sandbox-agent/log.ts";
import { LeaseClient } from "../../sandbox-agent/loop/mod.ts";

const [socket, marker, outbound, library, keyHex, count] = Deno.args;
const key = parseSessionKeyFile(new TextEncoder().encode(keyHex));
const client = new LeaseClient(socket, jsonLogger((line) => console.error(line)));
using writer = await client.run(() => openOutboundWriter(outbound, { library, key }));
for (let i = 0; i < Number(count); i++) {
  await client.run(() => {
    Deno.writeFileSync(marker, new Uint8Array());
    writer.writeMessageOut({ id: `out_${i}`, kind: "chat", content: `row ${i} `.repeat(200) });
    Deno.removeSync(marker);
  });
}
client.close();
