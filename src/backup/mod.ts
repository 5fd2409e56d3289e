/**
 * Backups of a state directory: a consistent snapshot while serving or
 * offline (`takeSnapshot`), one checksummed file (`archive.ts`), and an
 * all-or-nothing restore into a new directory (`restoreBackup`).
 *
 * @example
 * ```ts ignore
 * const { bytes } = await takeSnapshot({ stateDir, state: plane.state, audit: plane.audit });
 * await restoreBackup(bytes, "/var/lib/ironclaw-restored");
 * ```
 *
 * @module
 */
export { BACKUP_MAGIC, BackupFormatError, BackupManifest, decodeBackup } from "./archive.ts";
export { type Snapshot, type SnapshotSources, takeSnapshot } from "./snapshot.ts";
export { restoreBackup, type RestoreOptions, RestoreTargetError } from "./restore.ts";
