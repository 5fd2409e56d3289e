/**
 * Benchmark peer: the load generator for the API benchmark, run as its own
 * process so client work does not share the server's event loop.
 *
 * Usage: api_load_child.ts <baseUrl> <mode: pending|submit> <requests> <concurrency>
 * (token in $IRONCLAW_API_TOKEN). Prints one JSON line:
 * `{"requests", "failures", "seconds", "latenciesMs": number[]}`.
 *
 * @module
 */

const [baseUrl, mode, requestsArg, concurrencyArg] = Deno.args;
const token = Deno.env.get("IRONCLAW_API_TOKEN") ?? "";
const requests = Number(requestsArg);
const concurrency = Number(concurrencyArg);
if (!baseUrl || (mode !== "pending" && mode !== "submit") || !(requests > 0) || !(concurrency > 0)) {
  console.error("usage: api_load_child.ts <baseUrl> <pending|submit> <requests> <concurrency>");
  Deno.exit(2);
}

const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };

function request(i: number): Promise<Response> {
  if (mode === "pending") return fetch(`${baseUrl}/v1/changes/pending`, { headers });
  return fetch(`${baseUrl}/v1/changes`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      kind: "persona",
      agentGroupId: "demo",
      requestedBy: "bench:load",
      after: { soul: `benchmark change ${Deno.pid}-${i}: calm, brief and careful.` },
    }),
  });
}

const latenciesMs: number[] = [];
let failures = 0;
let next = 0;
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, async () => {
  for (let i = next++; i < requests; i = next++) {
    const t0 = performance.now();
    const response = await request(i);
    await response.arrayBuffer();
    latenciesMs.push(performance.now() - t0);
    if (!response.ok) failures++;
  }
}));
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ requests, failures, seconds, latenciesMs }));
