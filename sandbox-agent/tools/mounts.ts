/**
 * The agent group's approved mounts as the file tools see them: one
 * {@link Jail} per mount at `/mounts/<name>`, read-only unless the approval
 * said read-write. The sandbox's kernel already refuses a write to a
 * read-only mount; the jail says so first, in words the model can act on.
 *
 * @module
 */
import { SANDBOX_LAYOUT } from "../../contract/permissions.ts";
import { type DirEntry, Jail } from "./jail.ts";
import { ToolError } from "./tool_error.ts";

/** One mount as the host announced it (`--mounts=name:ro,…`). */
export interface MountInfo {
  name: string;
  readonly: boolean;
}

/** The mounts root as the agent is told it, whatever the layout: `/mounts`. */
export const MOUNTS_SEEN_AS = SANDBOX_LAYOUT.mounts;

/** The approved mounts; none when the host bound none. */
export class Mounts {
  readonly #mounts: Map<string, Jail>;

  /** `root` is where the mounts are in this layout (absent: the backend binds none, so `mounts` must be empty). */
  constructor(root: string | undefined, mounts: readonly MountInfo[] = []) {
    if (root === undefined && mounts.length) {
      throw new Error("mounts were announced but the layout has no mounts root");
    }
    this.#mounts = new Map(mounts.map((m) => [
      m.name,
      new Jail(`${root}/${m.name}`, { seenAs: `${MOUNTS_SEEN_AS}/${m.name}`, readOnly: m.readonly }),
    ]));
  }

  /** True when `path` is `/mounts` or lies under it. */
  holds(path: string): boolean {
    return path.replace(/\/+$/, "") === MOUNTS_SEEN_AS || path.startsWith(`${MOUNTS_SEEN_AS}/`);
  }

  /** True when `path` names `/mounts` itself (which lists the mounts). */
  isRoot(path: string): boolean {
    return path.replace(/\/+$/, "") === MOUNTS_SEEN_AS;
  }

  /** The jail of the mount `path` lies in (`/mounts/<name>/…`); a ToolError for an unknown name or `/mounts` itself. */
  jailOf(path: string): Jail {
    const name = path.slice(MOUNTS_SEEN_AS.length + 1).split("/")[0];
    const jail = this.#mounts.get(name);
    if (jail) return jail;
    if (name === "") {
      throw new ToolError(`${MOUNTS_SEEN_AS} holds the mounts: name one, ${MOUNTS_SEEN_AS}/<name>/…`);
    }
    throw new ToolError(
      `no mount named ${name}: ${
        this.#mounts.size ? `mounted are ${[...this.#mounts.keys()].join(", ")}` : "nothing is mounted"
      } (a human approves mounts: request_capability_change kind mounts)`,
    );
  }

  /** `/mounts` as a listing: each mount a directory. */
  list(): DirEntry[] {
    return [...this.#mounts.keys()].sort().map((name) => ({ name, is_dir: true }));
  }
}
