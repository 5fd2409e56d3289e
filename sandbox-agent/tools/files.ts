/**
 * File tools: `read_file`, `write_file` and `list_dir`, confined to the
 * workspace, or to the agent's memory folder when asked, or to an approved
 * mount named by its absolute path (`/mounts/<name>/…`; `/mounts` lists them).
 *
 * @module
 */
import { z } from "zod";
import { defineTool, type Tool, type ToolContext, ToolError } from "./tool.ts";
import type { Jail } from "./jail.ts";
import { Mounts } from "./mounts.ts";

const Area = z.enum(["workspace", "memory"]).default("workspace").describe(
  "workspace (default): this conversation's files; memory: notes kept across conversations (the operator chooses who shares them: everyone, one person, or only this conversation)",
);

const NO_MOUNTS = new Mounts(undefined);

/** The folder `path` is in: an absolute path names its own (`/memory/…`, `/mounts/docs/…`), a relative one is in `area`. */
function jailOf(path: string, area: z.output<typeof Area>, ctx: ToolContext): Jail {
  const mounts = ctx.mounts ?? NO_MOUNTS;
  if (mounts.holds(path)) return mounts.jailOf(path);
  if (ctx.memory.holds(path)) return ctx.memory;
  if (ctx.workspace.holds(path)) return ctx.workspace;
  return area === "memory" ? ctx.memory : ctx.workspace;
}

/** Decodes UTF-8 strictly; `what` names the file in the error. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ToolError(`${what} is not UTF-8 text`);
  }
}

/** `read_file`: a text file's content. */
export const readFile: Tool = defineTool({
  name: "read_file",
  description:
    "Read a UTF-8 text file (at most 1 MiB) by its path relative to the workspace, or by an absolute path in /memory or an approved mount (/mounts/<name>/…).",
  input: z.strictObject({
    path: z.string().describe(
      "path relative to the folder, e.g. notes/todo.md (or /workspace/notes/todo.md, /mounts/docs/a.txt)",
    ),
    area: Area,
  }),
  async invoke({ path, area }, ctx) {
    return { text: decodeUtf8(await jailOf(path, area, ctx).readBytes(path), path) };
  },
});

/** `write_file`: creates or replaces a text file. */
export const writeFile: Tool = defineTool({
  name: "write_file",
  description:
    "Create or replace a text file (at most 1 MiB) in the workspace (or /memory, or a read-write mount /mounts/<name>/…); parent folders are created.",
  input: z.strictObject({
    path: z.string().describe(
      "path relative to the folder, e.g. notes/todo.md (or /workspace/notes/todo.md)",
    ),
    content: z.string(),
    area: Area,
  }),
  async invoke({ path, content, area }, ctx) {
    const bytes = await jailOf(path, area, ctx).writeText(path, content);
    return { text: `wrote ${bytes} bytes to ${path}` };
  },
});

/** `list_dir`: a folder's entries as JSON. */
export const listDir: Tool = defineTool({
  name: "list_dir",
  description:
    'List a folder of the workspace as JSON [{"name","is_dir"}]; an empty path lists the top, /mounts lists the approved mounts.',
  input: z.strictObject({
    path: z.string().default("").describe(
      "folder path relative to the folder (or under /workspace, /memory, /mounts)",
    ),
    area: Area,
  }),
  async invoke({ path, area }, ctx) {
    const mounts = ctx.mounts ?? NO_MOUNTS;
    if (mounts.isRoot(path)) return { text: JSON.stringify(mounts.list()) };
    return { text: JSON.stringify(await jailOf(path, area, ctx).list(path)) };
  },
});
