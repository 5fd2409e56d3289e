/**
 * Builds libsqlcipher from the pinned SQLCipher amalgamation (an npm package,
 * so the lock file pins its integrity) and our own C sources beside this file
 * (`scripts/sqlcipher/*.c`, one file per concern, compiled in the same gcc
 * call) into the build cache. Idempotent: a stamp holds the SHA-256 of every
 * source and the compiler flags, and a build is skipped while it matches.
 *
 * @module
 */
import {
  repoRoot,
  SQLCIPHER_CACHE_DIR,
  SQLCIPHER_LIB_NAME,
  SQLCIPHER_VERSION,
} from "../contract/sqlite/mod.ts";

/** Compiler flags: OpenSSL crypto, FTS5, temp store in memory, no extension loading. */
export const SQLCIPHER_CFLAGS = [
  "-O2",
  "-fPIC",
  "-shared",
  "-DSQLITE_HAS_CODEC",
  "-DSQLCIPHER_CRYPTO_OPENSSL",
  "-DSQLITE_TEMP_STORE=2",
  "-DSQLITE_ENABLE_FTS5",
  "-DSQLITE_THREADSAFE=1",
  // Without it the busy handler sleeps in whole seconds between lock retries.
  "-DHAVE_USLEEP=1",
  "-DSQLITE_OMIT_LOAD_EXTENSION",
  "-DSQLITE_DQS=0",
  // SQLCipher's one RAND_bytes call (a page's IV) is served from a pool of
  // OpenSSL's own output, not one DRBG call (and getpid) a page: rand_pool.c.
  "-DRAND_bytes=ironclaw_rand_bytes",
  // The default VFS merges a rollback journal's appends into one pwrite
  // (three writes a journaled page otherwise): journal_vfs.c.
  "-DSQLITE_EXTRA_INIT=ironclaw_journal_vfs_init",
];

/** Our C sources compiled into the library with the amalgamation, sorted by name. */
export async function extraSources(): Promise<string[]> {
  const dir = `${repoRoot()}/scripts/sqlcipher`;
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".c")) names.push(entry.name);
  }
  return names.sort().map((name) => `${dir}/${name}`);
}

/** A missing build prerequisite, named by the Debian package that provides it. */
export class MissingPackageError extends Error {
  constructor(readonly aptPackage: string, what: string) {
    super(`${what} is missing: install it with 'apt-get install ${aptPackage}'`);
  }
}

/** Checks gcc and the OpenSSL headers; throws naming the first missing apt package. */
export async function checkBuildPrerequisites(): Promise<void> {
  for (const [pkg, what, probe] of BUILD_PREREQUISITES) {
    if (!(await probe())) throw new MissingPackageError(pkg, what);
  }
}

const BUILD_PREREQUISITES: [string, string, () => Promise<boolean>][] = [
  ["gcc", "the C compiler (gcc)", () => commandWorks("gcc", ["--version"])],
  [
    "libssl-dev",
    "the OpenSSL development files (openssl/evp.h)",
    () => fileExists("/usr/include/openssl/evp.h"),
  ],
];

/** Builds the library when the stamp does not match; returns its path. */
export async function ensureSqlcipher(log: (line: string) => void = console.error): Promise<string> {
  const root = repoRoot();
  const source = `${root}/node_modules/@commapp/sqlcipher-amalgamation/src/sqlite3.c`;
  if (!(await fileExists(source))) {
    throw new Error(`SQLCipher source not found at ${source}: run 'deno install' first`);
  }
  const outDir = `${root}/${SQLCIPHER_CACHE_DIR}`;
  const lib = `${outDir}/${SQLCIPHER_LIB_NAME}`;
  const stampPath = `${outDir}/stamp`;
  const sources = [source, ...(await extraSources())];
  const stamp = await sourceStamp(sources);
  if ((await fileExists(lib)) && (await readOrEmpty(stampPath)) === stamp) return lib;

  await checkBuildPrerequisites();
  await Deno.mkdir(outDir, { recursive: true });
  const partial = `${lib}.partial`;
  log(`building libsqlcipher ${SQLCIPHER_VERSION} with gcc (about 40 s on 2 cores)…`);
  const started = performance.now();
  const gcc = await new Deno.Command("gcc", {
    args: [
      ...SQLCIPHER_CFLAGS,
      // Our sources include the amalgamation's sqlite3.h.
      `-I${source.replace(/\/[^/]+$/, "")}`,
      ...sources,
      "-o",
      partial,
      "-lcrypto",
      "-lpthread",
      "-lm",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!gcc.success) {
    await Deno.remove(partial).catch(() => {});
    const detail = new TextDecoder().decode(gcc.stderr).trim().split("\n").slice(-5).join("\n");
    throw new Error(`gcc failed to build libsqlcipher:\n${detail}`);
  }
  await Deno.rename(partial, lib);
  await Deno.writeTextFile(stampPath, stamp);
  log(`built ${lib} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return lib;
}

async function sourceStamp(sources: string[]): Promise<string> {
  const hashes: string[] = [];
  for (const source of sources) {
    const hash = await crypto.subtle.digest("SHA-256", await Deno.readFile(source));
    hashes.push(Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join(""));
  }
  return `${SQLCIPHER_VERSION} ${hashes.join(" ")} ${SQLCIPHER_CFLAGS.join(" ")}\n`;
}

async function commandWorks(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()).success;
  } catch {
    return false;
  }
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}
