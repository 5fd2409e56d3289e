/**
 * `ironclaw files list|get`: the files an agent left in a conversation's
 * workspace (reports, notes, what it was sent), read through the running
 * control plane, which never follows a link out of the workspace. A
 * conversation is named by its session id, or by its agent and chat
 * (`--chat-id`, default the one `ironclaw chat <agent>` uses).
 *
 * @module
 */
import type { Command } from "commander";
import { defaultChatId } from "./chat.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { CliError } from "./errors.ts";
import { type CliIo, type Column, printJson, renderTable } from "./output.ts";

type Flags = ClientFlags & { chatId?: string; json?: boolean; out?: string };
type Entry = { path: string; type: string; size: number; modified: string };

const ENTRY_COLUMNS: Column<Entry>[] = [
  { header: "SIZE", cell: (e) => e.type === "file" ? String(e.size) : e.type === "dir" ? "dir" : e.type },
  { header: "MODIFIED", cell: (e) => e.modified.slice(0, 19).replace("T", " ") },
  { header: "PATH", cell: (e) => e.type === "dir" ? `${e.path}/` : e.path },
];

/** The session of `conversation`: a session id as it is, else agent `conversation`'s web chat `chatId`. */
export async function conversationSession(
  client: ApiClient,
  conversation: string,
  chatId: string | undefined,
): Promise<string> {
  if (conversation.startsWith("ses_")) {
    if (chatId !== undefined) throw new CliError("--chat-id goes with an agent, not a session id");
    return conversation;
  }
  const chat = chatId ?? defaultChatId(conversation);
  const chats = await client.call((api) => api.v1.registry["messaging-groups"].$get());
  const web = chats.find((c) => c.channelType === "web" && c.platformId === chat);
  const sessions = web
    ? await client.call((api) => api.v1.sessions.$get({ query: { agentGroupId: conversation } }))
    : [];
  const session = sessions.find((s) => s.messagingGroupId === web?.id);
  if (!session) {
    throw new CliError(
      `no conversation with ${conversation} in chat ${chat} yet (\`ironclaw session list --agent ${conversation}\` lists its sessions; give one's id)`,
    );
  }
  return session.id;
}

/** Writes `bytes` to a new file `path` (0600); never over an existing one. */
async function writeNewFile(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await Deno.writeFile(path, bytes, { createNew: true, mode: 0o600 });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) throw new CliError(`${path} exists: choose a new --out`);
    throw new CliError(`cannot write ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Registers `files` and its subcommands on `program`. */
export function registerWorkspaceFileCommands(program: Command, io: CliIo): void {
  const files = program.command("files").description(
    "the files in a conversation's workspace: list them, get one (links out of it are never followed)",
  );

  withClientFlags(
    files.command("list")
      .description("every file in a conversation's workspace, with sizes")
      .argument("<conversation>", "a session id (ses_…), or an agent id for its chat (see --chat-id)")
      .option("--chat-id <id>", "with an agent: the chat (default: the one `ironclaw chat <agent>` uses)")
      .option("--json", "machine-readable output"),
  ).action(async (conversation: string, opts: Flags) => {
    const client = ApiClient.fromFlags(opts);
    const id = await conversationSession(client, conversation, opts.chatId);
    const listing = await client.call((api) => api.v1.sessions[":id"].files.$get({ param: { id } }));
    if (opts.json) return printJson(io, listing);
    if (listing.entries.length === 0) return io.out(`No files in the workspace of ${id} yet.`);
    for (const line of renderTable(ENTRY_COLUMNS, listing.entries)) io.out(line);
    const bytes = listing.entries.reduce((sum, e) => sum + e.size, 0);
    io.out(`${listing.entries.length} entries, ${bytes} bytes in files (session ${id})`);
    if (listing.truncated) {
      io.err("the listing stopped at its cap (entries or depth); --json has what was listed");
    }
  });

  withClientFlags(
    files.command("get")
      .description("one file of a conversation's workspace: printed when it is text, else --out FILE")
      .argument("<conversation>", "a session id (ses_…), or an agent id for its chat (see --chat-id)")
      .argument("<path>", "the file's path in the workspace (as `files list` shows it)")
      .option("--chat-id <id>", "with an agent: the chat (default: the one `ironclaw chat <agent>` uses)")
      .option("--out <file>", "write it to this new file (never overwritten) instead of printing it"),
  ).action(async (conversation: string, path: string, opts: Flags) => {
    const client = ApiClient.fromFlags(opts);
    const id = await conversationSession(client, conversation, opts.chatId);
    const bytes = await client.download((api) =>
      api.v1.sessions[":id"].files.content.$get({ param: { id }, query: { path } })
    );
    if (opts.out) {
      await writeNewFile(opts.out, bytes);
      return io.err(`wrote ${bytes.length} bytes to ${opts.out}`);
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new CliError(`${path} is not text (${bytes.length} bytes): use --out FILE`);
    }
    // Printed through the CLI's streams, which escape whatever a terminal would act on.
    io.out(text.replace(/\n$/, ""));
  });
}
