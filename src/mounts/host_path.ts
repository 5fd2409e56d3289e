/**
 * Where an approved mount really is on the host. A mount names a host
 * directory; what gets bound is its real path (every symlink resolved),
 * which must lie under one of the operator's allowed prefixes (each taken at
 * its own real path too) and, when the state directory is given, neither
 * hold it nor lie inside it outside `<state-dir>/mounts`. It is resolved
 * when the change is submitted, when it is applied, and at every launch, so
 * a directory swapped for a symlink to somewhere else after its approval
 * stops the launch instead of being bound.
 *
 * @module
 */

/** Where mounts may come from. */
export interface MountPolicy {
  /** Host directories under which approved mounts may lie. */
  allowedSourcePrefixes: readonly string[];
  /** The control plane's state directory: no mount may hold it or lie in it (but under its `mounts/`). */
  stateDir?: string;
}

/** A mount whose host directory cannot be bound; the message is one line with the fix. */
export class MountPathError extends Error {
  override name = "MountPathError";
}

/** `path` with `.` and empty segments dropped, or undefined when it is not absolute or holds `..` or a control character. */
export function normalizeAbsolute(path: string): string | undefined {
  if (!path.startsWith("/") || /\p{Cc}/u.test(path)) return undefined;
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) return undefined;
  return `/${parts.join("/")}`;
}

/** Whether `path` is `dir` or lies inside it (both normalized absolute paths). */
export function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);
}

function realPathOrUndefined(path: string): string | undefined {
  try {
    return Deno.realPathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The real path of mount source `source` under `policy`; throws
 * {@link MountPathError} when it is not an absolute path, does not exist or
 * is not a directory, or resolves outside every allowed prefix or into the
 * state directory.
 *
 * @example
 * ```ts
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/docs`);
 * resolveMountSource(`${dir}/docs`, { allowedSourcePrefixes: [dir] }); // `${real dir}/docs`
 * ```
 */
export function resolveMountSource(source: string, policy: MountPolicy): string {
  const prefixes = policy.allowedSourcePrefixes.join(", ") || "none configured";
  const path = normalizeAbsolute(source);
  if (!path) throw new MountPathError(`mount source ${source} must be an absolute path without '..'`);
  const lexicalPrefixes = policy.allowedSourcePrefixes.map(normalizeAbsolute).filter((p) => p !== undefined);
  if (!lexicalPrefixes.some((prefix) => isWithin(path, prefix))) {
    throw new MountPathError(
      `mount source ${path} is outside the allowed prefixes (${prefixes}); serve --mount-prefix adds one`,
    );
  }
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    throw new MountPathError(`mount source ${path} does not exist (create the directory first)`);
  }
  if (!info.isDirectory) throw new MountPathError(`mount source ${path} is not a directory`);
  const real = Deno.realPathSync(path);
  const realPrefixes = lexicalPrefixes.map(realPathOrUndefined).filter((p) => p !== undefined);
  if (!realPrefixes.some((prefix) => isWithin(real, prefix))) {
    throw new MountPathError(
      `mount source ${path} resolves to ${real}, outside the allowed prefixes (${prefixes}): a symlink leads out`,
    );
  }
  const state = policy.stateDir === undefined ? undefined : realPathOrUndefined(policy.stateDir);
  if (state !== undefined) {
    if (isWithin(state, real)) {
      throw new MountPathError(`mount source ${path} (${real}) holds the state directory ${state}`);
    }
    if (isWithin(real, state) && !isWithin(real, `${state}/mounts`)) {
      throw new MountPathError(
        `mount source ${path} (${real}) lies in the state directory; only ${state}/mounts may be shared`,
      );
    }
  }
  return real;
}
