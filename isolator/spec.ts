/**
 * Launch-spec validation, shared by every backend: a bad spec fails before
 * anything is written or started.
 *
 * @module
 */
import { MOUNT_NAME } from "../contract/changes.ts";
import { isSafeId } from "../contract/ids.ts";
import { LaunchError } from "./errors.ts";
import {
  type AgentRunner,
  DEFAULT_LIMITS,
  type LaunchSpec,
  type Limits,
  type SandboxMount,
} from "./types.ts";

/** A validated spec with its limits filled in. */
export type ResolvedSpec = Omit<LaunchSpec, "limits" | "args" | "mounts"> & {
  args: readonly string[];
  limits: Limits;
  mounts: readonly SandboxMount[];
};

const DIRECTORIES = ["inboundDir", "outboundDir", "workspaceDir", "memoryDir", "socketDir"] as const;
const FILES = ["library", "denoPath", "program"] as const;

/**
 * Checks ids, paths and limits, and that the program suits `agent`: with the
 * compiled agent the spec's program must be that executable, which the
 * sandbox's uid must be able to read and run (and no Deno binary is needed).
 * Throws {@link LaunchError}.
 */
export function resolveSpec(spec: LaunchSpec, agent: AgentRunner): ResolvedSpec {
  const fail = (detail: string): never => {
    throw new LaunchError(spec.sessionId, detail);
  };
  if (!isSafeId(spec.sessionId)) fail("the session id is not a safe id");
  const files = agent.kind === "executable" ? FILES.filter((name) => name !== "denoPath") : FILES;
  for (const name of [...DIRECTORIES, ...files]) {
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
  if (agent.kind === "executable") {
    if (spec.program !== agent.path) {
      fail(`the program ${spec.program} is not this backend's agent executable ${agent.path}`);
    }
    // "Other" bits: the sandbox's uid (65532) owns nothing on the host.
    if ((Deno.statSync(spec.program).mode! & 0o005) !== 0o005) {
      fail(`the agent executable ${spec.program} must be readable and executable by everyone (chmod 755)`);
    }
  }
  if ("file" in spec.key && !spec.key.file.startsWith("/")) fail("the key file must be an absolute path");
  const limits = { ...DEFAULT_LIMITS, ...spec.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value <= 0) {
      fail(`limit ${name} must be a positive integer, got ${value}`);
    }
  }
  const mounts = spec.mounts ?? [];
  const names = new Set<string>();
  for (const m of mounts) {
    if (!MOUNT_NAME.test(m.name) || names.has(m.name)) {
      fail(`mount name ${JSON.stringify(m.name)} is bad or repeated`);
    }
    names.add(m.name);
    // The host resolved it: a real, absolute directory (a symlink here would be followed by the runtime).
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.lstatSync(m.source);
    } catch {
      // reported below
    }
    if (!m.source.startsWith("/") || !info?.isDirectory) {
      fail(`mount ${m.name}: ${m.source} is not a directory (a symlink is resolved by the host first)`);
    }
  }
  return { ...spec, args: [...(spec.args ?? [])], limits, mounts };
}
