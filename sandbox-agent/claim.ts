/**
 * A warm spare's wait for its session (`--spare=1`): the agent connects to
 * the host's claim socket and blocks until the host writes the session key
 * (one line, `claimLine` in the contract) and hangs up. A hang-up without a
 * key, or a stop signal, means no session will come: the agent ends.
 *
 * @module
 */
import { parseSessionKeyFile, type SessionKey } from "../contract/cipher.ts";
import { CLAIM_SOCKET_NAME } from "../contract/sockets.ts";
import type { Logger } from "./log.ts";

/** More than a key line ever needs: a longer line is refused rather than buffered. */
const MAX_CLAIM_BYTES = 128;

/** Waits for the claim on `socketDir`'s claim socket; the session key, or undefined when the spare is let go. */
export async function awaitClaim(
  socketDir: string,
  options: { log: Logger; signal: AbortSignal },
): Promise<SessionKey | undefined> {
  const { log, signal } = options;
  const conn = await Deno.connect({ transport: "unix", path: `${socketDir}/${CLAIM_SOCKET_NAME}` });
  const hangUp = () => conn.close();
  signal.addEventListener("abort", hangUp, { once: true });
  log.info("agent.spare_waiting", {});
  const received = new Uint8Array(MAX_CLAIM_BYTES);
  let length = 0;
  try {
    while (length < MAX_CLAIM_BYTES) {
      const n = await conn.read(received.subarray(length));
      if (n === null) break;
      length += n;
      if (received.subarray(0, length).includes(0x0a)) break;
    }
  } catch {
    // a stop while waiting (the abort closed the connection) or the host gone: no session
  } finally {
    signal.removeEventListener("abort", hangUp);
    try {
      conn.close();
    } catch {
      // already closed by the abort
    }
  }
  const line = received.subarray(0, length);
  if (signal.aborted || !line.includes(0x0a)) return undefined;
  return parseSessionKeyFile(line);
}
