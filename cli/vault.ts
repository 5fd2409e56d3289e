/**
 * `ironclaw vault set|list|rm|grant`: secrets for the third-party APIs an
 * agent may call, held by the control plane and injected by its egress
 * broker; never in a sandbox, never in argv, never printed.
 *
 * `set` reads the value from standard input (a pipe, or a hidden prompt on a
 * terminal) and sends it in the API request's body. `grant` proposes a
 * `vault_grant` change: a human approves it (`ironclaw change approve`) before
 * the broker injects anything.
 *
 * @module
 */
import type { Command } from "commander";
import { GrantHost, VaultGrantPayload, VaultSecretName } from "../contract/changes.ts";
import type { VaultEntry } from "../src/vault/mod.ts";
import { defaultActor } from "./change.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { CliError } from "./errors.ts";
import { promptHidden } from "./key_custody.ts";
import { type CliIo, printListing } from "./output.ts";

function secretName(name: string): string {
  const parsed = VaultSecretName.safeParse(name);
  if (!parsed.success) {
    throw new CliError(`secret name ${JSON.stringify(name)}: ${parsed.error.issues[0].message}`);
  }
  return parsed.data;
}

/** The value: standard input to its end when piped, else a hidden prompt. */
async function readValue(io: CliIo, name: string, stdin: ReadableStream<Uint8Array>): Promise<string> {
  if (io.interactive) return await promptHidden(`value of ${name} (not shown): `);
  return await new Response(stdin).text();
}

const COLUMNS = [
  { header: "NAME", cell: (e: VaultEntry) => e.name },
  { header: "CREATED", cell: (e: VaultEntry) => e.createdAt },
  // A rotation moves it.
  { header: "SET", cell: (e: VaultEntry) => e.updatedAt },
  {
    header: "GRANTED TO",
    cell: (e: VaultEntry) =>
      e.grants.map((g) => `${g.agentGroupId} → ${g.host} (${g.header})`).join(", ") || "—",
  },
];

/** Registers `vault` and its subcommands on `program`. */
export function registerVaultCommands(
  program: Command,
  io: CliIo,
  stdin: () => ReadableStream<Uint8Array> = () => Deno.stdin.readable,
): void {
  const vault = program.command("vault").description(
    "secrets for agents' API calls, injected host-side (never in a sandbox)",
  );

  withClientFlags(
    vault.command("set")
      .description("set a secret from standard input or a hidden prompt (an existing one is rotated)")
      .argument("<name>", "the secret's name (lower-case letters, digits, . _ -)"),
  ).action(async (name: string, opts: ClientFlags) => {
    const value = await readValue(io, secretName(name), stdin());
    if (value.trim() === "") {
      throw new CliError("no value given: pipe it in (ironclaw vault set NAME < file)");
    }
    const answer = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.vault.secrets[":name"].$put({ param: { name: encodeURIComponent(name) }, json: { value } })
    );
    io.out(`${answer.rotated ? "rotated" : "stored"} ${name} (sealed; the value is never shown again)`);
  });

  withClientFlags(
    vault.command("list")
      .description("list the secrets: names, dates and grants, never values")
      .option("--json", "machine-readable output"),
  ).action(async (opts: ClientFlags & { json?: boolean }) => {
    const rows = await ApiClient.fromFlags(opts).call((api) => api.v1.vault.secrets.$get());
    printListing(io, opts, rows, COLUMNS, "The vault is empty. Add a secret with: ironclaw vault set NAME");
  });

  withClientFlags(
    vault.command("rm")
      .description("remove a secret and its grants")
      .argument("<name>", "the secret's name"),
  ).action(async (name: string, opts: ClientFlags) => {
    await ApiClient.fromFlags(opts).call((api) =>
      api.v1.vault.secrets[":name"].$delete({ param: { name: encodeURIComponent(secretName(name)) } })
    );
    io.out(`removed ${name}`);
  });

  withClientFlags(
    vault.command("grant")
      .description("propose that an agent's requests to a host carry a secret (a human approves it)")
      .argument("<name>", "the secret's name")
      .requiredOption("--agent <group>", "the agent group whose requests carry it")
      .requiredOption("--host <host[:port]>", "the exact host (and port) the requests go to")
      .option("--header <name>", "the header it goes in", "Authorization")
      .option("--format <text>", "the header's value, {} standing for the secret", "Bearer {}")
      .option("--requested-by <who>", "who proposes it (default cli:$USER)"),
  ).action(async (
    name: string,
    opts: ClientFlags & { agent: string; host: string; header: string; format: string; requestedBy?: string },
  ) => {
    const host = GrantHost.safeParse(opts.host);
    if (!host.success) throw new CliError(`--host ${opts.host}: ${host.error.issues[0].message}`);
    const payload = VaultGrantPayload.safeParse({
      name: secretName(name),
      host: host.data,
      header: opts.header,
      format: opts.format,
    });
    if (!payload.success) {
      const issue = payload.error.issues[0];
      throw new CliError(`--${String(issue.path[0])}: ${issue.message}`);
    }
    const record = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.changes.$post({
        json: {
          kind: "vault_grant",
          agentGroupId: opts.agent,
          requestedBy: opts.requestedBy ?? defaultActor(),
          after: payload.data,
        },
      })
    );
    if (record.status === "rejected") throw new CliError(`the grant was refused: ${record.reason}`);
    io.out(`proposed ${record.request.id}: ${name} for ${opts.agent}'s requests to ${host.data}`);
    io.out(`approve with: ironclaw change approve ${record.request.id}`);
  });
}
