import assert from "node:assert/strict";
import { openTestApi } from "../../../tests/support/api.ts";

const SUBMIT = { kind: "persona", agentGroupId: "demo", requestedBy: "agent:demo", after: { soul: "x" } };

/** A JSON body of exactly `size` bytes (padding in requestedBy), streamed in 1 KiB chunks. */
function streamed(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at += 1024));
    },
  });
}

Deno.test("the body cap counts the bytes that arrive, whatever Content-Length says", async (t) => {
  await using api = await openTestApi({ bodyLimitBytes: 4096 });
  const big = JSON.stringify({ ...SUBMIT, requestedBy: "a".repeat(5000) });
  const small = JSON.stringify(SUBMIT);
  const before = await api.snapshot();
  const cases: [string, BodyInit, Record<string, string>][] = [
    ["declared honestly", big, { "content-length": String(big.length) }],
    ["Content-Length understated", streamed(big), { "content-length": "100" }],
    ["Content-Length omitted (streamed)", streamed(big), {}],
  ];
  for (const [name, raw, headers] of cases) {
    await t.step(name, async () => {
      const answer = await api.call("POST", "/v1/changes", {
        raw,
        headers: { "content-type": "application/json", ...headers },
      });
      assert.equal(answer.status, 413);
      assert.deepEqual(answer.body, { error: "request body is over the 4096-byte limit" });
    });
  }
  assert.equal(await api.snapshot(), before, "nothing recorded");
  const fits = await api.call("POST", "/v1/changes", {
    raw: streamed(small),
    headers: { "content-type": "application/json" },
  });
  assert.equal(fits.status, 202, "a streamed body under the cap is read whole");
  assert.equal(fits.body.request.after.soul, "x");
});

Deno.test("the default cap is 256 KiB", async () => {
  await using api = await openTestApi();
  const pad = (total: number) => {
    const base = JSON.stringify({ ...SUBMIT, after: { soul: "" } });
    return JSON.stringify({ ...SUBMIT, after: { soul: " ".repeat(total - base.length) } });
  };
  const over = await api.call("POST", "/v1/changes", {
    raw: pad(256 * 1024 + 1),
    headers: { "content-type": "application/json" },
  });
  assert.equal(over.status, 413);
  const under = await api.call("POST", "/v1/changes", {
    raw: pad(256 * 1024),
    headers: { "content-type": "application/json" },
  });
  assert.equal(under.status, 400, "read whole and judged by the schema (the persona is too long)");
  assert.match(under.body.error, /^after\.soul: /);
});
