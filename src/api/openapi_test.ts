import assert from "node:assert/strict";
import { openTestApi } from "../../tests/support/api.ts";
import { OPENAPI_PATH } from "./mod.ts";

/** The routes docs/api.md lists, as `METHOD /path/{param}`. */
async function routesInDocs(): Promise<string[]> {
  const text = await Deno.readTextFile(new URL("../../docs/api.md", import.meta.url));
  return [...text.matchAll(/^\| `(GET|POST|PUT|DELETE) (\/[^`?]*)[^`]*` /gm)].map(([, m, p]) => `${m} ${p}`)
    .sort();
}

Deno.test("the OpenAPI document lists exactly the routes docs/api.md documents", async () => {
  await using api = await openTestApi();
  const { status, body: doc } = await api.call("GET", OPENAPI_PATH);
  assert.equal(status, 200);
  assert.match(doc.openapi, /^3\./);
  const listed = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
  assert.deepEqual([...listed, `GET ${OPENAPI_PATH}`].sort(), await routesInDocs());
});

Deno.test("request bodies in the document come from the validating schemas", async () => {
  await using api = await openTestApi();
  const { body: doc } = await api.call("GET", OPENAPI_PATH);
  const schema = (ref: { $ref?: string }) =>
    ref.$ref ? doc.components.schemas[ref.$ref.split("/").at(-1)!] : ref;
  const submit = schema(doc.paths["/v1/changes"].post.requestBody.content["application/json"].schema);
  assert.deepEqual(submit.required.sort(), ["after", "agentGroupId", "kind", "requestedBy"]);
  assert.equal(submit.additionalProperties, false, "strict bodies");
  assert.ok(submit.properties.kind.enum.includes("mounts"));
  const wiring = schema(
    doc.paths["/v1/registry/wirings"].post.requestBody.content["application/json"].schema,
  );
  assert.deepEqual(wiring.properties.engageMode.enum, ["pattern", "mention", "mention-sticky"]);
  assert.deepEqual(doc.paths["/healthz"].get.security, [], "the probes need no token");
  assert.deepEqual(doc.security, [{ bearer: [] }]);
  assert.ok(doc.paths["/v1/changes/{id}/decision"].post.responses["409"]);
});

Deno.test("the request counter and latency histogram move, labelled by route template", async () => {
  await using api = await openTestApi();
  const count = (labels: string) => {
    const line = api.plane.metrics.render().split("\n").find((l) =>
      l.startsWith(`ironclaw_api_requests_total{${labels}}`)
    );
    return line ? Number(line.split(" ").at(-1)) : 0;
  };
  const pending = 'method="GET",route="/v1/changes/pending",status="200"';
  const one = 'method="GET",route="/v1/changes/{id}",status="404"';
  assert.equal(count(pending), 0);
  await api.call("GET", "/v1/changes/pending");
  await api.call("GET", "/v1/changes/pending");
  await api.call("GET", "/v1/changes/chg_a");
  await api.call("GET", "/v1/changes/chg_b");
  await api.call("GET", "/v1/changes/chg_c", { token: null });
  await api.call("GET", "/no/such/thing");
  assert.equal(count(pending), 2);
  assert.equal(count(one), 2, "ids do not become labels");
  assert.equal(count('method="GET",route="/v1/changes/{id}",status="401"'), 1);
  assert.equal(count('method="GET",route="unmatched",status="404"'), 1);
  const text = (await api.call("GET", "/metrics")).body as string;
  assert.match(text, /^ironclaw_api_request_duration_seconds_count\{route="\/v1\/changes\/pending"\} 2$/m);
  assert.match(
    text,
    /^ironclaw_api_request_duration_seconds_bucket\{route="\/v1\/changes\/\{id\}",le="\+Inf"\} 3$/m,
  );
  assert.match(text, /^# TYPE ironclaw_gateway_decisions_total counter$/m);
});

Deno.test("two apps over one plane share one set of API metrics", async () => {
  await using api = await openTestApi();
  const { createApiApp } = await import("./mod.ts");
  createApiApp(api.plane, { token: "another-token-0123456789" });
  const text = api.plane.metrics.render();
  assert.equal(text.match(/^# TYPE ironclaw_api_requests_total counter$/gm)?.length, 1);
});

Deno.test("the OpenAPI document's patterns are portable (no `u`-flag syntax a JSON Schema validator would misread)", async () => {
  await using api = await openTestApi();
  const doc = (await api.call("GET", OPENAPI_PATH)).body;
  const patterns: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key === "pattern" && typeof value === "string") patterns.push(value);
        else walk(value);
      }
    }
  };
  walk(doc);
  assert.ok(patterns.length > 0);
  for (const pattern of patterns) {
    // A kept regex literal would end in an unescaped `/flags`; an escaped `\/` (an absolute path's) is a slash.
    assert.doesNotMatch(pattern, /\\p\{|(?<!\\)\/[a-z]*$/, `pattern ${pattern}`);
    new RegExp(pattern); // valid without flags
  }
});
