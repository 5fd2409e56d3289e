/**
 * The agent's own flags for one launch, from the registry's launch spec:
 * provider, model, persona, enabled tools, mounts (name and mode) and poll interval, in the
 * `--name=value` form `sandbox-agent/config.ts` parses. The isolator puts
 * `--layout=…` before them.
 *
 * @module
 */
import { MANDATORY_TOOLS } from "../../contract/tools.ts";
import { PROVIDER_HOSTS, type ProviderKind } from "../../contract/sockets.ts";
import type { LaunchSpec } from "../registry/mod.ts";

/** A launch spec the agent cannot run with (an unknown provider). */
export class LaunchSpecError extends Error {
  override name = "LaunchSpecError";
}

/** Settings that are not the agent group's own. */
export interface AgentArgOptions {
  /** The provider of a group that names none. */
  defaultProvider: ProviderKind;
  /** The agent's fallback poll interval (the doorbell usually wakes it sooner). */
  pollMs?: number;
}

/** True for a provider the agent program knows. */
export function isProviderKind(value: string): value is ProviderKind {
  return Object.hasOwn(PROVIDER_HOSTS, value);
}

/** The agent's flags for `spec`; throws {@link LaunchSpecError} for a provider the agent does not know. */
export function agentArgs(spec: LaunchSpec, options: AgentArgOptions): string[] {
  const provider = spec.provider ?? options.defaultProvider;
  if (!isProviderKind(provider)) {
    throw new LaunchSpecError(
      `agent group ${spec.agentGroupId} names provider ${JSON.stringify(provider)}; the agent knows ${
        Object.keys(PROVIDER_HOSTS).join(", ")
      }`,
    );
  }
  const args = [`--provider=${provider}`];
  // A model chosen for another provider would be sent to the wrong API: only the group's own pairing counts.
  if (spec.model && spec.provider) args.push(`--model=${spec.model}`);
  if (spec.persona) args.push(`--persona=${spec.persona}`);
  // null allows every built-in tool, which the agent spells as no flag. An allowlist always carries the
  // mandatory tools, so an empty one still names something: the agent reads an empty flag as "every tool".
  if (spec.enabledTools !== null) {
    args.push(`--enabled-tools=${[...new Set([...spec.enabledTools, ...MANDATORY_TOOLS])].join(",")}`);
  }
  // Names are letters, digits and . _ - (the contract's MOUNT_NAME), so `,` and `:` cannot occur in them.
  if (spec.mounts.length) {
    args.push(`--mounts=${spec.mounts.map((m) => `${m.name}:${m.readonly ? "ro" : "rw"}`).join(",")}`);
  }
  if (options.pollMs !== undefined) args.push(`--poll-ms=${options.pollMs}`);
  return args;
}
