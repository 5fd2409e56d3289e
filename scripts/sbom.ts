/**
 * The release's software bill of materials, CycloneDX 1.6 JSON, made with
 * the CycloneDX project's own library (`@cyclonedx/cyclonedx-library`) from
 * what the build really used: every npm package `deno.lock` pins (name,
 * version, the registry's sha512), the Deno runtime compiled into the
 * binaries, and the C sources built into `libsqlcipher.so` (SQLCipher and
 * the SQLite it is based on, with the amalgamation's own sha256) plus the
 * OpenSSL `libcrypto` it links at run time.
 *
 * @module
 */
import { Enums, Models, Serialize, Spec } from "@cyclonedx/cyclonedx-library";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";

/** What {@link releaseSbom} describes. */
export interface SbomInputs {
  /** IronClaw's version (deno.json). */
  version: string;
  /** `deno.lock`'s text. */
  lock: string;
  /** The Deno version whose runtime the binaries embed. */
  denoVersion: string;
  /** The SQLCipher release built into libsqlcipher.so. */
  sqlcipherVersion: string;
  /** The amalgamation `sqlite3.c` that was compiled (its version line and hash go in). */
  sqlcipherSource: string;
  /** The OpenSSL version libsqlcipher.so was built against, if known (Debian's libssl-dev). */
  opensslVersion?: string;
  /** When the release was made. */
  timestamp: Date;
}

const LOCK_KEY = /^(@?[^@]+)@([^_]+)/;

/** `name@version` of every npm package in `deno.lock` (peer-suffixes dropped, each once). */
export function lockedNpmPackages(lock: string): { name: string; version: string; integrity?: string }[] {
  const parsed = JSON.parse(lock) as { npm?: Record<string, { integrity?: string }> };
  const seen = new Map<string, { name: string; version: string; integrity?: string }>();
  for (const [key, entry] of Object.entries(parsed.npm ?? {})) {
    const match = LOCK_KEY.exec(key);
    if (!match) throw new Error(`deno.lock: unreadable npm entry ${key}`);
    const [, name, version] = match;
    seen.set(`${name}@${version}`, { name, version, integrity: entry.integrity });
  }
  return [...seen.values()].sort((a, b) => `${a.name}@${a.version}`.localeCompare(`${b.name}@${b.version}`));
}

/** The package URL of an npm package (a scope's `@` is percent-encoded, as the purl spec says). */
function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.replace(/^@/, "%40")}@${version}`;
}

/** `sha512-<base64>` (npm's integrity) as hex, or undefined for another algorithm. */
function sha512Hex(integrity: string | undefined): string | undefined {
  const match = /^sha512-(.+)$/.exec(integrity ?? "");
  if (!match) return undefined;
  return Buffer.from(match[1], "base64").toString("hex");
}

/** The CycloneDX JSON text of the release's SBOM. */
export async function releaseSbom(inputs: SbomInputs): Promise<string> {
  const bom = new Models.Bom();
  bom.metadata.timestamp = inputs.timestamp;
  const ironclaw = new Models.Component(Enums.ComponentType.Application, "ironclaw", {
    version: inputs.version,
    description: "IronClaw: ironclaw, ironclaw-agent, ironclaw-probe and libsqlcipher.so",
    bomRef: `pkg:generic/ironclaw@${inputs.version}`,
  });
  bom.metadata.component = ironclaw;

  const add = (component: InstanceType<typeof Models.Component>): void => {
    bom.components.add(component);
    ironclaw.dependencies.add(component.bomRef);
  };

  for (const pkg of lockedNpmPackages(inputs.lock)) {
    const hashes = new Models.HashDictionary();
    const hex = sha512Hex(pkg.integrity);
    if (hex) hashes.set(Enums.HashAlgorithm["SHA-512"], hex);
    const purl = npmPurl(pkg.name, pkg.version);
    add(
      new Models.Component(Enums.ComponentType.Library, pkg.name, {
        version: pkg.version,
        purl,
        bomRef: purl,
        hashes,
      }),
    );
  }

  add(
    new Models.Component(Enums.ComponentType.Platform, "deno", {
      version: inputs.denoVersion,
      description: "the Deno runtime (denort) compiled into ironclaw, ironclaw-agent and ironclaw-probe",
      purl: `pkg:github/denoland/deno@v${inputs.denoVersion}`,
      bomRef: `pkg:github/denoland/deno@v${inputs.denoVersion}`,
    }),
  );

  const source = await Deno.readFile(inputs.sqlcipherSource);
  const sqliteVersion = /#define SQLITE_VERSION\s+"([^"]+)"/.exec(new TextDecoder().decode(source))?.[1];
  if (!sqliteVersion) throw new Error(`${inputs.sqlcipherSource}: no SQLITE_VERSION line`);
  const sourceHash = new Models.HashDictionary([[
    Enums.HashAlgorithm["SHA-256"],
    createHash("sha256").update(source).digest("hex"),
  ]]);
  add(
    new Models.Component(Enums.ComponentType.Library, "sqlcipher", {
      version: inputs.sqlcipherVersion,
      description: `built into libsqlcipher.so from the amalgamation sqlite3.c (SQLite ${sqliteVersion}); ` +
        "the hash is that file's",
      purl: `pkg:github/sqlcipher/sqlcipher@v${inputs.sqlcipherVersion}`,
      bomRef: `pkg:github/sqlcipher/sqlcipher@v${inputs.sqlcipherVersion}`,
      hashes: sourceHash,
    }),
  );
  add(
    new Models.Component(Enums.ComponentType.Library, "sqlite", {
      version: sqliteVersion,
      description: "the SQLite that SQLCipher is based on, in the same amalgamation",
      purl: `pkg:generic/sqlite@${sqliteVersion}`,
      bomRef: `pkg:generic/sqlite@${sqliteVersion}`,
    }),
  );
  if (inputs.opensslVersion) {
    add(
      new Models.Component(Enums.ComponentType.Library, "openssl", {
        version: inputs.opensslVersion,
        description:
          "libcrypto.so.3, linked by libsqlcipher.so at run time (not shipped: the system's libssl3)",
        purl: `pkg:deb/debian/openssl@${inputs.opensslVersion}`,
        bomRef: `pkg:deb/debian/openssl@${inputs.opensslVersion}`,
        scope: Enums.ComponentScope.Required,
      }),
    );
  }

  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  return serializer.serialize(bom, { sortLists: true, space: 2 }) + "\n";
}
