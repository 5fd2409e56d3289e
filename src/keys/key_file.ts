/**
 * The session key hand-off file: 64 lower-case hex characters, owner-only,
 * which the isolator mounts read-only into the sandbox.
 *
 * @module
 */
import { type SessionKey, sessionKeyHex } from "../../contract/cipher.ts";
import { replacePrivateFile } from "./private_file.ts";

/**
 * Writes `key` as hex to `path` (mode 0600), creating it or atomically
 * replacing what is there. The parent directory must exist.
 */
export async function writeKeyFile(path: string, key: SessionKey): Promise<void> {
  await replacePrivateFile(path, new TextEncoder().encode(sessionKeyHex(key)));
}
