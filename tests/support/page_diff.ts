/**
 * Which pages of an encrypted SQLite file a commit wrote. SQLCipher gives
 * every page a fresh IV each time it is written, so a page written again,
 * even unchanged, differs in the file: comparing the bytes before and after
 * a commit counts exactly the pages it wrote (and, for those that existed
 * before it, journaled), with no tracing and no timing.
 *
 * @module
 */
import { CIPHER } from "../../contract/cipher.ts";
import type { OutboundWriter } from "../../contract/queue/sandbox.ts";

/** The pages (1-based) that differ between two copies of a file, pages added at the end included. */
export function changedPages(
  before: Uint8Array,
  after: Uint8Array,
  pageSize: number = CIPHER.pageSize,
): number[] {
  const pages: number[] = [];
  const count = Math.ceil(after.length / pageSize);
  for (let page = 0; page < count; page++) {
    const start = page * pageSize;
    const end = start + pageSize;
    if (end > before.length || !sameBytes(before.subarray(start, end), after.subarray(start, end))) {
      pages.push(page + 1);
    }
  }
  return pages;
}

/** What one commit wrote to a file: every page, and those of them that existed before it (the journaled ones). */
export interface PageWrites {
  written: number[];
  journaled: number[];
}

/** Runs `commit` and reports the pages of `path` it wrote. */
export function pagesWrittenBy(path: string, commit: () => void): PageWrites {
  const before = Deno.readFileSync(path);
  commit();
  const written = changedPages(before, Deno.readFileSync(path));
  const existing = Math.ceil(before.length / CIPHER.pageSize);
  return { written, journaled: written.filter((page) => page <= existing) };
}

/**
 * `writer`, handing `record` the pages of `path` each of its outermost
 * transactions wrote (the agent's commits: it runs every write in one).
 */
export function recordingCommits(
  writer: OutboundWriter,
  path: string,
  record: (writes: PageWrites) => void,
): OutboundWriter {
  let depth = 0;
  return new Proxy(writer, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== "transaction") return typeof value === "function" ? value.bind(target) : value;
      return <T>(fn: () => T): T => {
        if (depth > 0) return target.transaction(fn);
        depth++;
        try {
          let result: T;
          record(pagesWrittenBy(path, () => result = target.transaction(fn)));
          return result!;
        } finally {
          depth--;
        }
      };
    },
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
