/**
 * An agent group's approved mounts, resolved for one launch: each host
 * directory at its real path, still under the operator's prefixes.
 *
 * @module
 */
import type { SandboxMount } from "../../isolator/mod.ts";
import { MountPathError, type MountPolicy, resolveMountSource } from "../mounts/mod.ts";
import type { Mount } from "../registry/mod.ts";

/** A launch refused because a mount cannot be bound; its message is one line with the fix. */
export class LaunchMountError extends Error {
  override name = "LaunchMountError";
}

/**
 * Agent group `spec`'s mounts as the isolator binds them; throws
 * {@link LaunchMountError} naming the mount when one no longer resolves
 * inside `policy` (or there is no policy).
 */
export function resolveLaunchMounts(
  spec: { agentGroupId: string; mounts: readonly Mount[] },
  policy: MountPolicy | undefined,
): SandboxMount[] {
  return spec.mounts.map((m) => {
    const fix =
      `fix the directory or remove the mount (ironclaw agent unmount ${spec.agentGroupId} --name ${m.name})`;
    if (!policy) throw new LaunchMountError(`mount ${m.name}: this host binds no mounts; ${fix}`);
    try {
      return { name: m.name, source: resolveMountSource(m.source, policy), readonly: m.readonly };
    } catch (err) {
      if (!(err instanceof MountPathError)) throw err;
      throw new LaunchMountError(`mount ${m.name} refused at launch: ${err.message}; ${fix}`);
    }
  });
}
