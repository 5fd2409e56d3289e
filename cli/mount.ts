/**
 * `ironclaw agent mount` and `agent unmount`: propose sharing a host
 * directory with an agent at `/mounts/<name>` (read-only unless `--rw`), or
 * taking one away, as a `mounts` change a human approves like every
 * capability. The host checks the directory against its allowed prefixes
 * (`serve --mount-prefix`) when the change is submitted, applied and at
 * every launch.
 *
 * @module
 */
import type { Command } from "commander";
import type { MountsPayload } from "../contract/changes.ts";
import { defaultActor } from "./change.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { CliError } from "./errors.ts";
import type { CliIo } from "./output.ts";

/** `path` made absolute against the working directory (the host resolves symlinks and checks it). */
export function absoluteMountPath(path: string, cwd = Deno.cwd()): string {
  if (path.trim() === "") throw new CliError("--path: expected a directory");
  return path.startsWith("/") ? path : `${cwd.replace(/\/+$/, "")}/${path}`;
}

async function submitMounts(
  flags: ClientFlags & { requestedBy?: string; reason?: string },
  agentGroupId: string,
  after: MountsPayload,
): Promise<string> {
  const record = await ApiClient.fromFlags(flags).call((api) =>
    api.v1.changes.$post({
      json: {
        kind: "mounts",
        agentGroupId,
        requestedBy: flags.requestedBy ?? defaultActor(),
        ...(flags.reason ? { rationale: flags.reason } : {}),
        after,
      },
    })
  );
  if (record.status === "rejected") throw new CliError(`the mount was refused: ${record.reason}`);
  return record.request.id;
}

/** Registers `mount` and `unmount` under `agent`. */
export function registerMountCommands(agent: Command, io: CliIo): void {
  withClientFlags(
    agent.command("mount")
      .description(
        "propose sharing a host directory with an agent at /mounts/<name> (a human approves; read-only unless --rw). " +
          "It must lie under serve's --mount-prefix (default <state-dir>/mounts); for --rw, writable by uid 65532",
      )
      .argument("<group>", "agent group id")
      .requiredOption("--path <dir>", "the host directory")
      .option("--name <name>", "the folder the agent sees, /mounts/<name> (default: the directory's name)")
      .option("--rw", "let the agent write there too (default: read-only)")
      .option("--reason <text>", "why it is needed (the approver sees it)")
      .option("--requested-by <who>", "who proposes it (default cli:$USER)"),
  ).action(async (
    group: string,
    opts: ClientFlags & { path: string; name?: string; rw?: boolean; reason?: string; requestedBy?: string },
  ) => {
    const source = absoluteMountPath(opts.path);
    const name = opts.name ?? source.split("/").filter(Boolean).at(-1) ?? "";
    const id = await submitMounts(opts, group, [{ name, source, readonly: !opts.rw }]);
    io.out(
      `proposed ${id}: ${group} sees ${source} at /mounts/${name} (${opts.rw ? "read-write" : "read-only"})`,
    );
    io.out(`approve with: ironclaw change approve ${id}`);
  });

  withClientFlags(
    agent.command("unmount")
      .description("propose taking a mount away from an agent (a human approves)")
      .argument("<group>", "agent group id")
      .requiredOption("--name <name>", "the mount's name, as in /mounts/<name>")
      .option("--reason <text>", "why (the approver sees it)")
      .option("--requested-by <who>", "who proposes it (default cli:$USER)"),
  ).action(async (
    group: string,
    opts: ClientFlags & { name: string; reason?: string; requestedBy?: string },
  ) => {
    const id = await submitMounts(opts, group, [{ name: opts.name, remove: true }]);
    io.out(`proposed ${id}: ${group} no longer sees /mounts/${opts.name}`);
    io.out(`approve with: ironclaw change approve ${id}`);
  });
}
