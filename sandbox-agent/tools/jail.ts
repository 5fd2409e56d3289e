/**
 * A directory the file tools cannot leave: paths are relative (or absolute
 * under the folder's own name, such as `/workspace/report.pdf`, the way the
 * host announces files), never hold `..`, and every existing component is
 * resolved with `realPath` and must stay under the root's real path, so a
 * symlink cannot lead out either. Files are capped at 1 MiB both ways.
 *
 * @module
 */
import { ToolError } from "./tool_error.ts";

/** Largest file the tools read or write. */
export const MAX_FILE_BYTES = 1024 * 1024;

/** Most entries `list` returns. */
export const MAX_LIST_ENTRIES = 1000;

/** One directory entry. */
export interface DirEntry {
  name: string;
  is_dir: boolean;
}

/** How the agent is told about a {@link Jail}'s folder. */
export interface JailOptions {
  /**
   * The folder's name in the sandbox's layout (`/workspace`, `/memory`), when
   * the root is somewhere else (the process backend runs on host paths):
   * absolute paths under it are taken as paths in the folder too.
   */
  seenAs?: string;
  /** A read-only mount: writes are refused here, as the sandbox's kernel refuses them. */
  readOnly?: boolean;
}

/** File access confined to `root`. */
export class Jail {
  readonly root: string;
  #realRoot: string | undefined;
  /** The absolute names of the folder: its root, and the name the agent is told. */
  readonly #names: string[];
  readonly #readOnly: boolean;

  constructor(root: string, options: JailOptions = {}) {
    this.root = root;
    this.#readOnly = options.readOnly ?? false;
    this.#names = [...new Set([root, options.seenAs ?? root].map((name) => name.replace(/\/+$/, "")))];
  }

  /** True when `path` is absolute and names this folder or something in it. */
  holds(path: string): boolean {
    return this.#names.some((name) => path === name || path.startsWith(`${name}/`));
  }

  /**
   * `path` as clean relative segments: an absolute path under the folder's
   * name is the relative path it names; any other absolute path is refused.
   */
  relative(path: string): string {
    const name = this.#names.find((n) => path === n || path.startsWith(`${n}/`));
    if (name !== undefined) return Jail.clean(path.slice(name.length).replace(/^\/+/, ""));
    if (path.startsWith("/")) {
      throw new ToolError(
        `absolute paths outside ${
          this.#names.at(-1)
        } are not allowed: use a path relative to the folder (got ${path})`,
      );
    }
    return Jail.clean(path);
  }

  /** `path` as clean relative segments joined by `/` ("" is the root); throws on absolute paths and `..`. */
  static clean(path: string): string {
    if (path.includes("\0")) throw new ToolError("paths may not contain NUL characters");
    if (path.startsWith("/") || path.startsWith("\\") || /^[A-Za-z]:/.test(path)) {
      throw new ToolError(`absolute paths are not allowed: use a path relative to the folder (got ${path})`);
    }
    const segments = path.split("/").filter((s) => s !== "" && s !== ".");
    if (segments.includes("..")) throw new ToolError(`'..' is not allowed in paths (got ${path})`);
    return segments.join("/");
  }

  /** Reads a file's bytes (at most {@link MAX_FILE_BYTES}). */
  readBytes(path: string): Promise<Uint8Array> {
    return guarded(path, async () => {
      const real = await this.#resolveExisting(path);
      const info = await Deno.stat(real);
      if (info.isDirectory) throw new ToolError(`${path} is a directory`);
      if (info.size > MAX_FILE_BYTES) {
        throw new ToolError(
          `${path} is ${info.size} bytes; files over ${MAX_FILE_BYTES} bytes cannot be read`,
        );
      }
      return await Deno.readFile(real);
    });
  }

  /** Writes a file, creating parent directories; returns the byte count. */
  writeText(path: string, content: string): Promise<number> {
    return guarded(path, async () => {
      if (this.#readOnly) {
        throw new ToolError(`${this.#names.at(-1)} is a read-only mount: its files can be read, not written`);
      }
      const bytes = new TextEncoder().encode(content);
      if (bytes.length > MAX_FILE_BYTES) {
        throw new ToolError(
          `content is ${bytes.length} bytes; files over ${MAX_FILE_BYTES} bytes cannot be written`,
        );
      }
      await Deno.writeFile(await this.#resolveForWrite(path), bytes, { mode: 0o644 });
      return bytes.length;
    });
  }

  /** Lists a directory, sorted by name (at most {@link MAX_LIST_ENTRIES}). */
  list(path: string): Promise<DirEntry[]> {
    return guarded(path, async () => {
      const real = await this.#resolveExisting(path);
      if (!(await Deno.stat(real)).isDirectory) throw new ToolError(`${path} is not a directory`);
      const entries: DirEntry[] = [];
      for await (const e of Deno.readDir(real)) entries.push({ name: e.name, is_dir: e.isDirectory });
      return entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0).slice(
        0,
        MAX_LIST_ENTRIES,
      );
    });
  }

  async #realRootPath(): Promise<string> {
    this.#realRoot ??= await Deno.realPath(this.root);
    return this.#realRoot;
  }

  /** Real path of `full`, which must stay inside the root. */
  async #confine(full: string, shown: string): Promise<string> {
    let real: string;
    try {
      real = await Deno.realPath(full);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      throw new ToolError(`${shown} is a symlink to nothing`);
    }
    const root = await this.#realRootPath();
    if (real !== root && !real.startsWith(root.endsWith("/") ? root : `${root}/`)) {
      throw new ToolError(`${shown} leads outside the folder`);
    }
    return real;
  }

  async #resolveExisting(path: string): Promise<string> {
    const rel = this.relative(path);
    const full = rel === "" ? this.root : `${this.root}/${rel}`;
    if (!(await exists(full))) throw new ToolError(`no such file or directory: ${rel || "."}`);
    return await this.#confine(full, rel || ".");
  }

  /**
   * Where to write `path`: an existing file (confined), or a new one under
   * its nearest existing, confined ancestor, whose missing directories are
   * created. Missing components cannot be symlinks, so nothing else can lead out.
   */
  async #resolveForWrite(path: string): Promise<string> {
    const rel = this.relative(path);
    if (rel === "") throw new ToolError("a file path is required");
    const segments = rel.split("/");
    for (let depth = segments.length; depth >= 0; depth--) {
      const prefix = segments.slice(0, depth).join("/");
      const full = prefix === "" ? this.root : `${this.root}/${prefix}`;
      if (!(await exists(full))) continue;
      const real = await this.#confine(full, prefix || ".");
      const isDir = (await Deno.stat(real)).isDirectory;
      if (depth === segments.length) {
        if (isDir) throw new ToolError(`${rel} is a directory`);
        return real;
      }
      if (!isDir) throw new ToolError(`${prefix} is not a directory`);
      const missing = segments.slice(depth);
      if (missing.length > 1) {
        await Deno.mkdir(`${real}/${missing.slice(0, -1).join("/")}`, { recursive: true, mode: 0o755 });
      }
      return `${real}/${missing.join("/")}`;
    }
    throw new ToolError("the folder is unavailable");
  }
}

/**
 * Runs a filesystem operation on `path` (as the model gave it), turning any
 * failure into a {@link ToolError} that names that path and never the host
 * one: a name too long, a symlink loop or a permission problem is the
 * model's to fix, and the real location of the folder is not its business.
 */
async function guarded<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ToolError) throw err;
    throw new ToolError(`${path === "" ? "." : path}: ${fsReason(err)}`);
  }
}

/** What went wrong, in words that hold no path. */
function fsReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof Deno.errors.NotFound) return "no such file or directory";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.NotADirectory) return "a part of the path is not a directory";
  if (err instanceof Deno.errors.IsADirectory) return "is a directory";
  if (err instanceof Deno.errors.FilesystemLoop || code === "ELOOP") {
    return "too many levels of symbolic links";
  }
  if (code === "ENAMETOOLONG") return "the name is too long";
  if (code === "ENOSPC") return "no space left";
  return `cannot be accessed (${
    typeof code === "string" ? code : err instanceof Error ? err.name : "error"
  })`;
}

/** True when something (even a dangling symlink) is at `path`. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return false;
    throw err;
  }
}
