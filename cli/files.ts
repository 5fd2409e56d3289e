/**
 * Reading operator-supplied files: bounded, UTF-8, regular files only, and
 * persona directories whose documents may not lead outside them.
 *
 * @module
 */
import { join } from "node:path";
import { MAX_PERSONA_SECTION_BYTES, type PersonaDocs } from "../contract/changes.ts";
import { PERSONA_SECTIONS } from "../src/catalog/mod.ts";
import { CliError } from "./errors.ts";

/**
 * Reads a UTF-8 text file of at most `maxBytes`, refusing anything else with
 * one line naming `what` (e.g. `--after file`).
 */
export async function readSmallText(path: string, maxBytes: number, what: string): Promise<string> {
  const info = await statOrFail(path, what);
  if (!info.isFile) throw new CliError(`${what} ${path} is not a regular file`);
  if (info.size > maxBytes) throw new CliError(`${what} ${path} is larger than ${maxBytes} bytes`);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new CliError(`${what} ${path} ${unreadable(err)}`);
  }
  if (bytes.length > maxBytes) throw new CliError(`${what} ${path} is larger than ${maxBytes} bytes`);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CliError(`${what} ${path} is not valid UTF-8 text`);
  }
}

/**
 * Reads the persona documents in `dir` (IDENTITY.md, SOUL.md, AGENTS.md),
 * trimmed; missing files are skipped. A document that is a link leading out
 * of `dir`, not a regular file, unreadable, over the per-document cap or not
 * UTF-8 is refused with one line.
 */
export async function readPersonaDir(dir: string): Promise<PersonaDocs> {
  const info = await statOrFail(dir, "--persona-dir");
  if (!info.isDirectory) throw new CliError(`--persona-dir ${dir} is not a directory`);
  const root = await Deno.realPath(dir);
  const docs: PersonaDocs = {};
  for (const section of PERSONA_SECTIONS) {
    const path = join(dir, section.filename);
    let real: string;
    try {
      real = await Deno.realPath(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        // Absent, or a link to nothing: a dangling link is refused, an absent file skipped.
        if (await isLink(path)) throw new CliError(`${path} is a link to a file that does not exist`);
        continue;
      }
      throw new CliError(`${path} ${unreadable(err)}`);
    }
    if (!real.startsWith(`${root}/`)) {
      throw new CliError(`${path} leads outside the persona directory (${real}); copy the file in instead`);
    }
    const text = await readSmallText(real, MAX_PERSONA_SECTION_BYTES, "persona document");
    const trimmed = text.trim();
    if (trimmed) docs[section.key] = trimmed;
  }
  return docs;
}

async function isLink(path: string): Promise<boolean> {
  try {
    return (await Deno.lstat(path)).isSymlink;
  } catch {
    return false;
  }
}

async function statOrFail(path: string, what: string): Promise<Deno.FileInfo> {
  try {
    return await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new CliError(`${what} ${path} does not exist`);
    throw new CliError(`${what} ${path} ${unreadable(err)}`);
  }
}

function unreadable(err: unknown): string {
  if (err instanceof Deno.errors.PermissionDenied) return "is not readable (permission denied)";
  return `cannot be read: ${(err as Error).message.split("\n")[0]}`;
}
