/**
 * Launch-spec validation, shared by every backend: a bad spec fails before
 * anything is written or started.
 *
 * @module
 */
import { isSafeId } from "../contract/ids.ts";
import { LaunchError } from "./errors.ts";
import { DEFAULT_LIMITS, type LaunchSpec, type Limits } from "./types.ts";

/** A validated spec with its limits filled in. */
export type ResolvedSpec = Omit<LaunchSpec, "limits" | "args"> & { args: readonly string[]; limits: Limits };

const DIRECTORIES = ["inboundDir", "outboundDir", "workspaceDir", "memoryDir", "socketDir"] as const;
const FILES = ["library", "denoPath", "program"] as const;

/** Checks ids, paths and limits; throws {@link LaunchError}. */
export function resolveSpec(spec: LaunchSpec): ResolvedSpec {
  const fail = (detail: string): never => {
    throw new LaunchError(spec.sessionId, detail);
  };
  if (!isSafeId(spec.sessionId)) fail("the session id is not a safe id");
  for (const name of [...DIRECTORIES, ...FILES]) {
    const path = spec[name];
    if (!path.startsWith("/")) fail(`${name} must be an absolute path, got ${JSON.stringify(path)}`);
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.statSync(path);
    } catch {
      fail(`${name} ${path} does not exist`);
    }
    const wantDirectory = (DIRECTORIES as readonly string[]).includes(name);
    if (wantDirectory ? !info!.isDirectory : !info!.isFile) {
      fail(`${name} ${path} is not a ${wantDirectory ? "directory" : "file"}`);
    }
  }
  if ("file" in spec.key && !spec.key.file.startsWith("/")) fail("the key file must be an absolute path");
  const limits = { ...DEFAULT_LIMITS, ...spec.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value <= 0) {
      fail(`limit ${name} must be a positive integer, got ${value}`);
    }
  }
  return { ...spec, args: [...(spec.args ?? [])], limits };
}
