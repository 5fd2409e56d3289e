/**
 * Test helpers: temporary directories, keys, and the library path.
 *
 * @module
 */
import { asSessionKey, type SessionKey } from "../../contract/cipher.ts";
import { resolveLibraryPath } from "../../contract/sqlite/mod.ts";
// The agent's tests cannot import this folder (the seam), so the one copy lives on their side.
export { deadline } from "../../sandbox-agent/testing.ts";

/** The built libsqlcipher. */
export const LIBRARY = resolveLibraryPath();

/** A key of 32 copies of `byte` (fixtures: 0x11 right, 0x22 wrong). */
export function fixedKey(byte: number): SessionKey {
  return asSessionKey(new Uint8Array(32).fill(byte));
}

/** A fresh temporary directory, removed when disposed. */
export function tempDir(prefix = "ironclaw-test-"): { path: string } & Disposable {
  const path = Deno.makeTempDirSync({ prefix });
  return { path, [Symbol.dispose]: () => Deno.removeSync(path, { recursive: true }) };
}

/** True when `needle` occurs anywhere in the raw bytes of `path` (and its journal). */
export function fileContains(path: string, needle: string): boolean {
  const bytes = new TextDecoder("latin1").decode(Deno.readFileSync(path));
  return bytes.includes(needle);
}
