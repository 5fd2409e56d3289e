/**
 * `ironclaw egress hosts|revoke`: the hosts each agent may fetch from. An
 * agent gains a host only through a human's approval of its
 * `request_api_access` (`ironclaw change approve`); the operator can list
 * them and take one away at once.
 *
 * @module
 */
import type { Command } from "commander";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { type CliIo, printJson } from "./output.ts";

/** Registers `egress` and its subcommands on `program`. */
export function registerEgressCommands(program: Command, io: CliIo): void {
  const egress = program.command("egress").description(
    "the web hosts approved for each agent's http_fetch",
  );

  withClientFlags(
    egress.command("hosts")
      .description("list the hosts approved for an agent")
      .requiredOption("--agent <group>", "the agent group")
      .option("--json", "machine-readable output"),
  ).action(async (opts: ClientFlags & { agent: string; json?: boolean }) => {
    const answer = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.egress[":id"].hosts.$get({ param: { id: opts.agent } })
    );
    if (opts.json) return printJson(io, answer);
    if (answer.hosts.length === 0) {
      return io.out(`${opts.agent} may fetch from no host yet (it asks with request_api_access)`);
    }
    for (const host of answer.hosts) io.out(host);
  });

  withClientFlags(
    egress.command("revoke")
      .description("take an approved host away from an agent (at once, no restart)")
      .argument("<host>", "the host, as approved")
      .requiredOption("--agent <group>", "the agent group"),
  ).action(async (host: string, opts: ClientFlags & { agent: string }) => {
    const answer = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.egress[":id"].hosts[":host"].$delete({
        param: { id: opts.agent, host: encodeURIComponent(host) },
      })
    );
    io.out(
      `revoked ${host} for ${opts.agent}; it may still fetch from: ${answer.hosts.join(", ") || "no host"}`,
    );
  });
}
