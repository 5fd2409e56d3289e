/**
 * `ironclaw demo queue`: writes a message into a fresh encrypted session
 * queue, reads it back through the sandbox's read-only role, and shows that
 * the file on disk holds no plaintext.
 *
 * @module
 */
import { asSessionKey } from "../contract/cipher.ts";
import { newSessionId } from "../contract/ids.ts";
import { openInboundWriter, provisionSession } from "../contract/queue/host.ts";
import { openInboundReader } from "../contract/queue/sandbox.ts";
import { resolveLibraryPath, SQLCIPHER_VERSION } from "../contract/sqlite/mod.ts";

/** Runs the demo, printing each step; returns true when every check held. */
export function runQueueDemo(text: string, print: (line: string) => void): boolean {
  const root = Deno.makeTempDirSync({ prefix: "ironclaw-demo-" });
  try {
    const library = resolveLibraryPath();
    const key = asSessionKey(crypto.getRandomValues(new Uint8Array(32)));
    const sessionId = newSessionId();
    const paths = provisionSession(root, sessionId, { library, key });
    print(`provisioned ${sessionId} (SQLCipher ${SQLCIPHER_VERSION}, raw 256-bit key) in ${paths.dir}`);
    {
      using writer = openInboundWriter(paths.inbound, { library, key });
      const row = writer.writeMessageIn({ id: `in_demo_${Date.now()}`, kind: "chat", content: text });
      print(`host wrote inbound message seq ${row.seq}: ${JSON.stringify(text)}`);
    }
    using reader = openInboundReader(paths.inbound, { library, key });
    const [read] = reader.pendingMessages();
    const roundTrip = read?.content === text;
    print(`sandbox reader (read-only) got: ${JSON.stringify(read?.content)} ${roundTrip ? "✓" : "✗"}`);
    const raw = new TextDecoder("latin1").decode(Deno.readFileSync(paths.inbound));
    const sealed = !raw.includes(text) && !raw.startsWith("SQLite format 3");
    print(
      `raw file (${raw.length} bytes): ${
        sealed ? "no plaintext, no SQLite header ✓" : "PLAINTEXT FOUND ✗"
      } — first bytes ${hexPreview(raw)}`,
    );
    const wrong = asSessionKey(crypto.getRandomValues(new Uint8Array(32)));
    let refused = false;
    try {
      openInboundReader(paths.inbound, { library, key: wrong }).close();
    } catch (err) {
      refused = true;
      print(`another key is refused at open: ${(err as Error).message.replace(root, "<demo>")} ✓`);
    }
    return roundTrip && sealed && refused;
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
}

function hexPreview(raw: string): string {
  return Array.from(raw.slice(0, 8), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join(" ");
}
