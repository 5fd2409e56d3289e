/**
 * The agent's command line. Inside a sandbox the layout is the contract's
 * fixed {@link SANDBOX_LAYOUT}; the isolator always states it with
 * `--layout=<json>` (the process backend's layout is the session's host
 * paths). Everything else the host decides for a session travels as flags
 * too: the agent reads no environment.
 *
 * @module
 */
import { z } from "zod";
import { type AgentLayout, SANDBOX_LAYOUT } from "../contract/permissions.ts";
import { PROVIDER_HOSTS, type ProviderKind } from "../contract/sockets.ts";

/** What the agent runs with. */
export interface AgentConfig {
  layout: AgentLayout;
  provider: ProviderKind;
  /** Undefined: the provider's default model. */
  model?: string;
  persona: string;
  /** Empty: every compiled tool. */
  enabledTools: string[];
  /** Fallback poll interval (the doorbell usually wakes the loop sooner). */
  pollMs: number;
  /** A warm spare (`--spare=1`): no key file; the key comes with the claim (see `claim.ts`). */
  spare: boolean;
  /** The approved mounts the host bound at `<layout.mounts>/<name>`. */
  mounts: { name: string; readonly: boolean }[];
  /**
   * `--queue-locks=private`: no other process sees this sandbox's file locks
   * (gVisor), so the outbound writer may hold its lock for its life
   * (`PRIVATE_LOCK_WRITER_PRAGMAS` in `contract/cipher.ts`). Default `shared`.
   */
  privateQueueLocks: boolean;
}

/** A bad command line; its message is one line. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Default fallback poll interval. */
export const DEFAULT_POLL_MS = 2000;

const AbsolutePath = z.string().regex(/^\/\S*$/, "must be an absolute path");
const Layout = z.strictObject({
  inboundDir: AbsolutePath,
  outboundDir: AbsolutePath,
  keyFile: AbsolutePath,
  workspace: AbsolutePath,
  memory: AbsolutePath,
  socketDir: AbsolutePath,
  library: AbsolutePath,
  mounts: AbsolutePath.optional(),
});

const FLAGS = [
  "layout",
  "provider",
  "model",
  "persona",
  "enabled-tools",
  "mounts",
  "poll-ms",
  "spare",
  "queue-locks",
] as const;
type Flag = (typeof FLAGS)[number];

/** Parses `--name=value` flags; an unknown flag or a bad value is a {@link ConfigError}. */
export function parseArgs(args: readonly string[]): AgentConfig {
  const values = new Map<Flag, string>();
  for (const arg of args) {
    const match = /^--([a-z-]+)=(.*)$/s.exec(arg);
    const name = match?.[1] as Flag | undefined;
    if (!match || !FLAGS.includes(name!)) {
      throw new ConfigError(
        `unknown argument ${JSON.stringify(arg.slice(0, 40))}; flags: --${FLAGS.join("=, --")}=`,
      );
    }
    values.set(name!, match[2]);
  }
  const provider = values.get("provider") ?? "anthropic";
  if (!Object.hasOwn(PROVIDER_HOSTS, provider)) {
    throw new ConfigError(
      `unknown provider ${JSON.stringify(provider)}; one of ${Object.keys(PROVIDER_HOSTS).join(", ")}`,
    );
  }
  const pollMs = Number(values.get("poll-ms") ?? DEFAULT_POLL_MS);
  if (!Number.isInteger(pollMs) || pollMs < 10 || pollMs > 600_000) {
    throw new ConfigError(`--poll-ms must be an integer from 10 to 600000, got ${values.get("poll-ms")}`);
  }
  const spare = values.get("spare") ?? "0";
  if (spare !== "0" && spare !== "1") throw new ConfigError(`--spare must be 0 or 1, got ${spare}`);
  const queueLocks = values.get("queue-locks") ?? "shared";
  if (queueLocks !== "shared" && queueLocks !== "private") {
    throw new ConfigError(`--queue-locks must be shared or private, got ${queueLocks}`);
  }
  const model = values.get("model");
  const layout = parseLayout(values.get("layout"));
  const mounts = parseMounts(values.get("mounts") ?? "");
  if (mounts.length && layout.mounts === undefined) {
    throw new ConfigError("--mounts given, but the layout has no mounts");
  }
  return {
    layout,
    provider: provider as ProviderKind,
    ...(model ? { model } : {}),
    persona: values.get("persona") ?? "",
    enabledTools: (values.get("enabled-tools") ?? "").split(",").map((t) => t.trim()).filter(Boolean),
    pollMs,
    spare: spare === "1",
    mounts,
    privateQueueLocks: queueLocks === "private",
  };
}

/** `--mounts=docs:ro,data:rw`: each approved mount's name and mode. */
function parseMounts(value: string): AgentConfig["mounts"] {
  return value.split(",").filter(Boolean).map((item) => {
    const match = /^([A-Za-z0-9][A-Za-z0-9._-]{0,63}):(ro|rw)$/.exec(item);
    if (!match) {
      throw new ConfigError(`--mounts: ${JSON.stringify(item.slice(0, 80))} is not <name>:ro or <name>:rw`);
    }
    return { name: match[1], readonly: match[2] === "ro" };
  });
}

function parseLayout(json: string | undefined): AgentLayout {
  if (json === undefined) return SANDBOX_LAYOUT;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ConfigError("--layout is not JSON");
  }
  const parsed = Layout.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`--layout: ${issue.path.join(".") || "(layout)"}: ${issue.message}`);
  }
  return parsed.data;
}
