/**
 * The backup file: one header line naming the format and the SHA-256 of the
 * manifest, the manifest (JSON, one line) listing every member with its size
 * and SHA-256, then the members' bytes in manifest order. Reading checks all
 * of it before anything is handed back, so a restore never starts on a
 * corrupt or foreign file.
 *
 * @module
 */
import { z } from "zod";
import { createHash } from "node:crypto";

/** The first bytes of every backup, and its format version. */
export const BACKUP_MAGIC = "IRONCLAW-BACKUP/1";

/** A path inside the state directory: relative, plain segments, no `..`. */
const MemberPath = z.string().regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/).refine(
  (p) => !p.split("/").some((seg) => seg === "." || seg === ".."),
  "no . or .. segments",
);

/** One file of the backup. */
export const BackupMember = z.object({
  path: MemberPath,
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type BackupMember = z.infer<typeof BackupMember>;

/** What a backup holds. */
export const BackupManifest = z.object({
  format: z.literal("ironclaw-backup"),
  createdAt: z.string(),
  /** The state database's schema version at the snapshot. */
  schemaVersion: z.number().int().nonnegative(),
  /** `wrapped`: the passphrase-wrapped master key is a member; `separate`: file custody, kept out of the backup. */
  masterKey: z.enum(["wrapped", "separate"]),
  members: z.array(BackupMember),
});
export type BackupManifest = z.infer<typeof BackupManifest>;

/** A file that is not a whole, intact IronClaw backup. */
export class BackupFormatError extends Error {
  override name = "BackupFormatError";
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** SHA-256 of `bytes`, hex. */
export function memberDigest(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Builds the backup file from its members' bytes. */
export function encodeBackup(
  meta: Omit<BackupManifest, "format" | "members">,
  files: ReadonlyMap<string, Uint8Array<ArrayBuffer>>,
): Uint8Array<ArrayBuffer> {
  const members: BackupMember[] = [];
  for (const [path, bytes] of files) members.push({ path, size: bytes.length, sha256: memberDigest(bytes) });
  const manifest = encoder.encode(
    JSON.stringify(BackupManifest.parse({ format: "ironclaw-backup", ...meta, members })),
  );
  const header = encoder.encode(`${BACKUP_MAGIC} ${memberDigest(manifest)}\n`);
  const parts = [header, manifest, encoder.encode("\n"), ...files.values()];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The manifest and members of a backup, every checksum verified. Throws {@linkcode BackupFormatError}. */
export function decodeBackup(
  bytes: Uint8Array<ArrayBuffer>,
): { manifest: BackupManifest; files: Map<string, Uint8Array<ArrayBuffer>> } {
  const headerEnd = bytes.indexOf(0x0a);
  const header = decoder.decode(bytes.subarray(0, headerEnd < 0 ? Math.min(bytes.length, 100) : headerEnd));
  const match = /^IRONCLAW-BACKUP\/(\d+) ([0-9a-f]{64})$/.exec(header);
  if (!match) throw new BackupFormatError("not an IronClaw backup (no IRONCLAW-BACKUP header)");
  if (`IRONCLAW-BACKUP/${match[1]}` !== BACKUP_MAGIC) {
    throw new BackupFormatError(`backup format ${match[1]} is not one this build reads (${BACKUP_MAGIC})`);
  }
  const manifestEnd = bytes.indexOf(0x0a, headerEnd + 1);
  if (manifestEnd < 0) throw new BackupFormatError("the backup is truncated (no manifest)");
  const manifestBytes = bytes.slice(headerEnd + 1, manifestEnd);
  if (memberDigest(manifestBytes) !== match[2]) {
    throw new BackupFormatError("the backup's manifest does not match its checksum (corrupt)");
  }
  let manifest: BackupManifest;
  try {
    manifest = BackupManifest.parse(JSON.parse(decoder.decode(manifestBytes)));
  } catch {
    throw new BackupFormatError("the backup's manifest is not one this build reads");
  }
  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  let at = manifestEnd + 1;
  for (const member of manifest.members) {
    const data = bytes.slice(at, at + member.size);
    at += member.size;
    if (data.length !== member.size) {
      throw new BackupFormatError(`the backup is truncated (in ${member.path})`);
    }
    if (memberDigest(data) !== member.sha256) {
      throw new BackupFormatError(`${member.path} in the backup does not match its checksum (corrupt)`);
    }
    if (files.has(member.path)) throw new BackupFormatError(`${member.path} appears twice in the backup`);
    files.set(member.path, data);
  }
  if (at !== bytes.length) throw new BackupFormatError("the backup has bytes past its last member (corrupt)");
  return { manifest, files };
}
