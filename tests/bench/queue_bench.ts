/**
 * Queue benchmarks, each run for SQLCipher and for the same binding with no
 * key, so the encryption overhead is a ratio from one run.
 *
 * @module
 */
import { asSessionKey, sessionKeyHex } from "../../contract/cipher.ts";
import { openInboundWriter, provisionSession } from "../../contract/queue/host.ts";
import { openInboundReader } from "../../contract/queue/sandbox.ts";
import { resolveLibraryPath } from "../../contract/sqlite/mod.ts";
import { type BenchResult, percentile } from "./report.ts";

const library = resolveLibraryPath();
const key = asSessionKey(crypto.getRandomValues(new Uint8Array(32)));
const POLL_CHILD = new URL("./poll_child.ts", import.meta.url).pathname;

type Variant = "encrypted" | "plaintext";

function setup(root: string, variant: Variant) {
  const opts = { library, key: variant === "encrypted" ? key : null };
  return { opts, paths: provisionSession(root, `bench_${variant}_${crypto.randomUUID().slice(0, 8)}`, opts) };
}

function singleInserts(root: string, variant: Variant, n = 300): number {
  const { opts, paths } = setup(root, variant);
  using w = openInboundWriter(paths.inbound, opts);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    w.writeMessageIn({ id: `s${i}`, kind: "chat", content: `message ${i} `.repeat(8) });
  }
  return n / ((performance.now() - start) / 1000);
}

function batchedInserts(root: string, variant: Variant, batches = 20, size = 100): number {
  const { opts, paths } = setup(root, variant);
  using w = openInboundWriter(paths.inbound, opts);
  const start = performance.now();
  for (let b = 0; b < batches; b++) {
    w.writeMessagesIn(
      Array.from(
        { length: size },
        (_, i) => ({ id: `b${b}_${i}`, kind: "chat" as const, content: `row ${i} `.repeat(8) }),
      ),
    );
  }
  return (batches * size) / ((performance.now() - start) / 1000);
}

function openCost(root: string, variant: Variant, n = 200): number {
  const { opts, paths } = setup(root, variant);
  const start = performance.now();
  for (let i = 0; i < n; i++) openInboundReader(paths.inbound, opts).close();
  return (performance.now() - start) / n;
}

async function commitToSeen(root: string, variant: Variant, n = 150, pollMs = 1): Promise<number[]> {
  const { opts, paths } = setup(root, variant);
  using w = openInboundWriter(paths.inbound, opts);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-ffi",
      "--allow-env",
      POLL_CHILD,
      paths.inbound,
      variant === "encrypted" ? sessionKeyHex(key) : "plain",
      String(pollMs),
      String(n),
    ],
    stdout: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const seen = new Map<string, number>();
  let ready!: () => void;
  const childReady = new Promise<void>((resolve) => ready = resolve);
  const readLines = (async () => {
    for (;;) {
      const { value, done } = await lines.read();
      if (done) return;
      buffer += value;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const [id, at] = line.split(" ");
        if (at) seen.set(id, Number(at));
        else if (id === "ready") ready();
      }
    }
  })();
  await childReady;
  const committed = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const id = `p${i}`;
    w.writeMessageIn({ id, kind: "chat", content: "ping" });
    committed.set(id, performance.timeOrigin + performance.now());
    await new Promise((resolve) => setTimeout(resolve, 7 + (i % 5)));
  }
  await child.status;
  await readLines;
  return [...committed].map(([id, at]) => (seen.get(id) ?? NaN) - at).filter(Number.isFinite);
}

/** Runs every queue benchmark; returns one result per measured quantity. */
export async function queueBenchmarks(): Promise<BenchResult[]> {
  const root = await Deno.makeTempDir({ prefix: "ironclaw-bench-" });
  try {
    const results: BenchResult[] = [];
    const pair = (name: string, unit: string, f: (v: Variant) => number, higherIsBetter: boolean) => {
      const enc = f("encrypted");
      const plain = f("plaintext");
      results.push({ name: `${name}.encrypted`, value: enc, unit }, {
        name: `${name}.plaintext`,
        value: plain,
        unit,
      });
      results.push({
        name: `${name}.cost_ratio`,
        value: higherIsBetter ? plain / enc : enc / plain,
        unit: "x",
      });
    };
    pair("queue.single_insert", "tx/s", (v) => singleInserts(root, v), true);
    pair("queue.batched_insert", "rows/s", (v) => batchedInserts(root, v), true);
    pair("queue.open_and_key", "ms", (v) => openCost(root, v), false);
    for (const variant of ["encrypted", "plaintext"] as const) {
      const latencies = await commitToSeen(root, variant);
      results.push(
        { name: `queue.commit_to_seen.${variant}.p50`, value: percentile(latencies, 50), unit: "ms" },
        { name: `queue.commit_to_seen.${variant}.p99`, value: percentile(latencies, 99), unit: "ms" },
        { name: `queue.commit_to_seen.${variant}.samples`, value: latencies.length, unit: "count" },
      );
    }
    return results;
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}
