/**
 * Counts the pages each of the agent's outbound commits writes, over a run of
 * warm turns: the real agent loop on real encrypted queue files, a fake model
 * answering like the host's mock, and the host's part between turns (a new
 * inbound message, the status mirror). Every page a commit writes costs the
 * sandbox a journal write or three, a database write and an encryption, so
 * this is what a warm turn's SQLite syscalls follow. Counted from the file's
 * bytes (`tests/support/page_diff.ts`), not traced or timed: the same on any
 * machine at any load.
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
import { openOutboundReader } from "../../contract/queue/host.ts";
import { Database } from "../../contract/sqlite/mod.ts";
import { LoopHarness } from "../support/agent_loop_harness.ts";
import { fixedKey, LIBRARY } from "../support/mod.ts";
import { type PageWrites, recordingCommits } from "../support/page_diff.ts";

/** `--name value` or `--name=value`, else `fallback`. */
function flag(name: string, fallback: string): string {
  const at = Deno.args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return fallback;
  return Deno.args[at].includes("=") ? Deno.args[at].split("=")[1] : Deno.args[at + 1];
}
if (Deno.args.includes("--help")) {
  console.log(
    "usage: commit_pages.ts [--turns N] [--warmup N] [--message-bytes N] [--json] [--each]\n" +
      "Counts the pages each agent commit writes in outbound.db over N warm turns (after N warm-up turns);\n" +
      "--each also prints every turn's commits, page by page.",
  );
  Deno.exit(0);
}
const turns = Number(flag("turns", "30"));
const warmup = Number(flag("warmup", "3"));
const messageBytes = Number(flag("message-bytes", "40"));
const KEY = fixedKey(0x11);

/** One commit: what it wrote, and to which b-tree each page belongs (when the library can say). */
interface Commit extends PageWrites {
  owners: string[];
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

await using h = await LoopHarness.start();
const perTurn: Commit[][] = [];
{
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
  const pad = "x".repeat(Math.max(0, messageBytes - 20));
  for (let i = 0; i < warmup + turns; i++) {
    commits.length = 0;
    h.write({ id: `in_${i}`, content: `journey turn ${i} ${pad}` });
    const outcome = await loop.poll();
    if (outcome !== "engaged") throw new Error(`turn ${i}: the agent did not engage (${outcome})`);
    // The host's delivery pass mirrors the agent's acknowledgements into inbound, as after each reply.
    using reader = openOutboundReader(h.paths.outbound, { library: LIBRARY, key: KEY });
    h.host.advanceStatuses(reader.processingAcks([`in_${i}`]));
    if (i >= warmup) perTurn.push([...commits]);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const labels = ["engage", "reply"];
const summary = labels.map((label, index) => {
  const commits = perTurn.map((t) => t[index]).filter((c) => c !== undefined);
  const owners = new Map<string, number>();
  for (const c of commits) for (const o of c.owners) owners.set(o, (owners.get(o) ?? 0) + 1);
  return {
    commit: label,
    written_mean: mean(commits.map((c) => c.written.length)),
    written_median: median(commits.map((c) => c.written.length)),
    journaled_mean: mean(commits.map((c) => c.journaled.length)),
    by_btree: Object.fromEntries([...owners].map(([o, n]) => [o, n / commits.length])),
  };
});
const commitsPerTurn = mean(perTurn.map((t) => t.length));
const written = mean(perTurn.map((t) => t.reduce((a, c) => a + c.written.length, 0)));
const journaled = mean(perTurn.map((t) => t.reduce((a, c) => a + c.journaled.length, 0)));
const result = {
  turns,
  message_bytes: messageBytes,
  commits_per_turn: commitsPerTurn,
  pages_written_per_turn: written,
  pages_journaled_per_turn: journaled,
  // SQLite writes a journaled page as three writes (its number, the page, a checksum) and the database page as one.
  page_pwrites_per_turn: 3 * journaled + written,
  commits: summary,
};
if (Deno.args.includes("--json")) console.log(JSON.stringify(result));
else {
  console.log(
    `${turns} warm turns, ${commitsPerTurn} commits a turn: ${written.toFixed(2)} pages written, ` +
      `${journaled.toFixed(2)} journaled (${result.page_pwrites_per_turn.toFixed(1)} page pwrites) a turn`,
  );
  for (const c of summary) {
    const owners = Object.entries(c.by_btree).map(([o, n]) => `${o} ${n.toFixed(2)}`).join(", ");
    console.log(
      `  ${c.commit}: ${c.written_mean.toFixed(2)} pages written (median ${c.written_median}), ` +
        `${c.journaled_mean.toFixed(2)} journaled: ${owners}`,
    );
  }
}
if (Deno.args.includes("--each")) {
  for (const t of perTurn) {
    console.log(t.map((c) => `${c.written.length}:${c.owners.join("|")}`).join("  "));
  }
}
