/**
 * Counts the pages each of the agent's outbound commits writes, over a run of
 * warm turns: the real agent loop on real encrypted queue files, a fake model
 * answering like the host's mock, and the host's part between turns (a new
 * inbound message, the status mirror). Every page a commit writes costs the
 * sandbox journal writes, a database write and encryptions, so this is what a
 * warm turn's SQLite syscalls follow. Counted from the file's bytes
 * (`tests/support/page_diff.ts`), not traced or timed: the same on any
 * machine at any load. `deno task bench` prints it as its `pages` suite.
 *
 * With `IRONCLAW_SQLCIPHER_LIB` naming a libsqlcipher built with
 * `-DSQLITE_ENABLE_DBSTAT_VTAB`, each page is named by the table or index it
 * belongs to.
 *
 * ```sh
 * scripts/deno run -A tests/bench/commit_pages.ts [--turns 30] [--warmup 3] [--message-bytes 40] [--json] [--each]
 * ```
 *
 * @module
 */
import { READER_PRAGMAS } from "../../contract/cipher.ts";
import { Database } from "../../contract/sqlite/mod.ts";
import { LoopHarness } from "../support/agent_loop_harness.ts";
import { fixedKey, LIBRARY } from "../support/mod.ts";
import { type PageWrites, recordingCommits } from "../support/page_diff.ts";
import type { BenchResult } from "./report.ts";

const KEY = fixedKey(0x11);

/** One commit: what it wrote, and to which b-tree each page belongs (when the library can say). */
interface Commit extends PageWrites {
  owners: string[];
}

/** A run's shape: warm turns counted after `warmup` uncounted ones, each message about `messageBytes` long. */
export interface PageRun {
  turns: number;
  warmup: number;
  messageBytes: number;
}

/** What a run counted: per turn, and per commit (engage, reply) with the b-trees its pages belong to. */
export interface PageCount {
  commitsPerTurn: number;
  writtenPerTurn: number;
  journaledPerTurn: number;
  commits: {
    commit: "engage" | "reply";
    writtenMean: number;
    writtenMedian: number;
    journaledMean: number;
    byBtree: Record<string, number>;
  }[];
  /** Every counted turn's commits. */
  perTurn: Commit[][];
}

/** Names each page of `path` by its b-tree, through `dbstat` when the library has it. */
function pageOwners(path: string): Map<number, string> | undefined {
  using db = Database.open(path, { library: LIBRARY, key: KEY, readOnly: true, pragmas: READER_PRAGMAS });
  try {
    const rows = db.all("SELECT name, pageno FROM dbstat");
    return new Map(rows.map((r) => [Number(r.pageno), String(r.name)]));
  } catch {
    return undefined;
  }
}

/** Runs `run`'s turns on a fresh session and counts the pages of each agent commit. */
export async function countCommitPages(run: PageRun): Promise<PageCount> {
  await using h = await LoopHarness.start();
  const perTurn: Commit[][] = [];
  const commits: Commit[] = [];
  const loop = h.loop({
    wrapOutbound: (w) =>
      recordingCommits(w, h.paths.outbound, (writes) => {
        const owners = pageOwners(h.paths.outbound);
        commits.push({
          ...writes,
          owners: writes.written.map((p) => p === 1 ? "page 1" : owners?.get(p) ?? "(unnamed)"),
        });
      }),
  });
  const pad = "x".repeat(Math.max(0, run.messageBytes - 20));
  for (let i = 0; i < run.warmup + run.turns; i++) {
    commits.length = 0;
    h.write({ id: `in_${i}`, content: `journey turn ${i} ${pad}` });
    const outcome = await loop.poll();
    if (outcome !== "engaged") throw new Error(`turn ${i}: the agent did not engage (${outcome})`);
    // What the host's delivery pass mirrors into inbound after the reply.
    h.host.advanceStatuses([{ messageId: `in_${i}`, status: "completed" }]);
    if (i >= run.warmup) perTurn.push([...commits]);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return {
    commitsPerTurn: mean(perTurn.map((t) => t.length)),
    writtenPerTurn: mean(perTurn.map((t) => t.reduce((a, c) => a + c.written.length, 0))),
    journaledPerTurn: mean(perTurn.map((t) => t.reduce((a, c) => a + c.journaled.length, 0))),
    commits: (["engage", "reply"] as const).map((commit, index) => {
      const counted = perTurn.map((t) => t[index]).filter((c) => c !== undefined);
      const owners = new Map<string, number>();
      for (const c of counted) for (const o of c.owners) owners.set(o, (owners.get(o) ?? 0) + 1);
      return {
        commit,
        writtenMean: mean(counted.map((c) => c.written.length)),
        writtenMedian: median(counted.map((c) => c.written.length)),
        journaledMean: mean(counted.map((c) => c.journaled.length)),
        byBtree: Object.fromEntries([...owners].map(([o, n]) => [o, n / counted.length])),
      };
    }),
    perTurn,
  };
}

/**
 * The `pages` suite: pages of outbound written per warm turn and per commit,
 * on a fresh session (turns 4–23, while the history fills) and once the
 * history is full (turns 26–65).
 */
export async function commitPagesBenchmarks(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (
    const [phase, run] of [
      ["fresh", { turns: 20, warmup: 3, messageBytes: 40 }],
      ["steady", { turns: 40, warmup: 25, messageBytes: 40 }],
    ] as const
  ) {
    const count = await countCommitPages(run);
    results.push({ name: `pages.agent.${phase}.per_turn`, value: count.writtenPerTurn, unit: "pages" });
    for (const c of count.commits) {
      results.push({ name: `pages.agent.${phase}.${c.commit}`, value: c.writtenMean, unit: "pages" });
    }
  }
  return results;
}

/** `--name value` or `--name=value`, else `fallback`. */
function flag(name: string, fallback: string): string {
  const at = Deno.args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return fallback;
  return Deno.args[at].includes("=") ? Deno.args[at].split("=")[1] : Deno.args[at + 1];
}

if (import.meta.main) {
  if (Deno.args.includes("--help")) {
    console.log(
      "usage: commit_pages.ts [--turns N] [--warmup N] [--message-bytes N] [--json] [--each]\n" +
        "Counts the pages each agent commit writes in outbound.db over N warm turns (after N warm-up turns);\n" +
        "--each also prints every turn's commits, page by page.",
    );
    Deno.exit(0);
  }
  const run = {
    turns: Number(flag("turns", "30")),
    warmup: Number(flag("warmup", "3")),
    messageBytes: Number(flag("message-bytes", "40")),
  };
  const count = await countCommitPages(run);
  // SQLite writes a journaled page as three writes (its number, the page, a checksum) and the database page as one.
  const pwrites = 3 * count.journaledPerTurn + count.writtenPerTurn;
  if (Deno.args.includes("--json")) {
    const { perTurn: _, ...totals } = count;
    console.log(JSON.stringify({ ...run, ...totals, pagePwritesPerTurn: pwrites }));
  } else {
    console.log(
      `${run.turns} warm turns, ${count.commitsPerTurn} commits a turn: ${
        count.writtenPerTurn.toFixed(2)
      } pages ` +
        `written, ${count.journaledPerTurn.toFixed(2)} journaled (${pwrites.toFixed(1)} page pwrites) a turn`,
    );
    for (const c of count.commits) {
      const owners = Object.entries(c.byBtree).map(([o, n]) => `${o} ${n.toFixed(2)}`).join(", ");
      console.log(
        `  ${c.commit}: ${c.writtenMean.toFixed(2)} pages written (median ${c.writtenMedian}), ` +
          `${c.journaledMean.toFixed(2)} journaled: ${owners}`,
      );
    }
  }
  if (Deno.args.includes("--each")) {
    for (const t of count.perTurn) {
      console.log(t.map((c) => `${c.written.length}:${c.owners.join("|")}`).join("  "));
    }
  }
}
