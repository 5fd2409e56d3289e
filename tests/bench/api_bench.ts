/**
 * API benchmarks: requests a second and client-observed latency for
 * `GET /v1/changes/pending` and `POST /v1/changes` against a real server on
 * 127.0.0.1, the load coming from a second process; and how much the state
 * database and the audit log grow per 10k changes. Numbers only; nothing
 * here asserts a timing.
 *
 * @module
 */
import { startApiServer } from "../../src/api/mod.ts";
import { ControlPlane } from "../../src/control_plane/mod.ts";
import { STATE_DB_FILE } from "../../src/state/mod.ts";
import { resolveLibraryPath } from "../../contract/sqlite/mod.ts";
import { type BenchResult, percentile } from "./report.ts";

const LOAD_CHILD = new URL("./api_load_child.ts", import.meta.url).pathname;
const TOKEN = "bench-token-0123456789abcdef";
const CONCURRENCY = 8;
/** Changes already pending while `GET /v1/changes/pending` is measured (the list it returns). */
const PENDING_BACKLOG = 20;

interface LoadResult {
  requests: number;
  failures: number;
  seconds: number;
  latenciesMs: number[];
}

async function load(url: string, mode: "pending" | "submit", requests: number): Promise<LoadResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env=IRONCLAW_API_TOKEN",
      LOAD_CHILD,
      url,
      mode,
      String(requests),
      String(CONCURRENCY),
    ],
    env: { IRONCLAW_API_TOKEN: TOKEN },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`the load generator failed (${mode})`);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

function sizeOf(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

function summarise(name: string, r: LoadResult): BenchResult[] {
  return [
    { name: `${name}.throughput`, value: r.requests / r.seconds, unit: "req/s" },
    { name: `${name}.p50`, value: percentile(r.latenciesMs, 50), unit: "ms" },
    { name: `${name}.p99`, value: percentile(r.latenciesMs, 99), unit: "ms" },
    { name: `${name}.failures`, value: r.failures, unit: "count" },
  ];
}

/** Runs the API benchmarks; about 20–40 s on the CI machine. */
export async function apiBenchmarks(
  sizes: { pending: number; submit: number } = { pending: 4000, submit: 2000 },
): Promise<BenchResult[]> {
  const stateDir = await Deno.makeTempDir({ prefix: "ironclaw-api-bench-" });
  const plane = await ControlPlane.open({ stateDir, dev: true, library: resolveLibraryPath() });
  const server = startApiServer(plane, {
    hostname: "127.0.0.1",
    port: 0,
    token: TOKEN,
    rateLimit: { ratePerSecond: 1e9, burst: 1e9 },
  });
  const files = () => ({
    db: sizeOf(`${stateDir}/${STATE_DB_FILE}`) + sizeOf(`${stateDir}/${STATE_DB_FILE}-wal`),
    audit: sizeOf(plane.audit.path),
  });
  try {
    const results: BenchResult[] = [];
    await load(server.url, "submit", PENDING_BACKLOG);
    results.push(...summarise("api.get_pending", await load(server.url, "pending", sizes.pending)));

    plane.state.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const before = files();
    const submitted = await load(server.url, "submit", sizes.submit);
    results.push(...summarise("api.post_change", submitted));
    plane.state.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const after = files();
    const per10k = 10_000 / sizes.submit / (1024 * 1024);
    results.push(
      { name: "api.state_db_per_10k_changes", value: (after.db - before.db) * per10k, unit: "MiB" },
      { name: "api.audit_log_per_10k_changes", value: (after.audit - before.audit) * per10k, unit: "MiB" },
    );
    return results;
  } finally {
    await server.shutdown();
    await plane.close();
    await Deno.remove(stateDir, { recursive: true });
  }
}
