/**
 * Approved mounts on the host side: where a mount's host directory really is,
 * and whether it may be bound (see `host_path.ts`).
 *
 * @module
 */
export {
  isWithin,
  MountPathError,
  type MountPolicy,
  normalizeAbsolute,
  resolveMountSource,
} from "./host_path.ts";
