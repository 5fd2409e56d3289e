/**
 * Where the vendored libsqlcipher lives. Both sides load the same library;
 * the sandbox is handed an explicit path (it may read no environment), the
 * host resolves it from the environment or the build cache.
 *
 * @module
 */

/** The SQLCipher release we build and pin (npm `@commapp/sqlcipher-amalgamation`). */
export const SQLCIPHER_VERSION = "4.5.5";

/** Environment variable that overrides the library location on the host. */
export const SQLCIPHER_LIB_ENV = "IRONCLAW_SQLCIPHER_LIB";

/** File name of the built shared library. */
export const SQLCIPHER_LIB_NAME = "libsqlcipher.so";

/** The build cache directory, relative to the repository root. */
export const SQLCIPHER_CACHE_DIR = ".cache/sqlcipher";

/** Repository root, derived from this module's location (source checkouts only). */
export function repoRoot(): string {
  return new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
}

/**
 * Resolves the library path on the host: `$IRONCLAW_SQLCIPHER_LIB`, then a
 * copy beside the running executable (release installs), then the build cache.
 */
export function resolveLibraryPath(): string {
  const fromEnv = Deno.env.get(SQLCIPHER_LIB_ENV);
  if (fromEnv) return fromEnv;
  const beside = Deno.execPath().replace(/[^/]+$/, SQLCIPHER_LIB_NAME);
  if (!beside.includes("/deno-") && exists(beside)) return beside;
  return `${repoRoot()}/${SQLCIPHER_CACHE_DIR}/${SQLCIPHER_LIB_NAME}`;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
