import assert from "node:assert/strict";
import { redactSecrets, sandboxResponseHeaders, upstreamRequestHeaders } from "./harden.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("every occurrence of every secret is redacted, longest first", () => {
  const body = bytes('{"a":"sk-long-secret","b":"sk-long","c":"xsk-long-secretx sk-long-secret"}');
  assert.equal(
    text(redactSecrets(body, ["sk-long", "sk-long-secret", ""])),
    '{"a":"[REDACTED]","b":"[REDACTED]","c":"x[REDACTED]x [REDACTED]"}',
  );
});

Deno.test("redaction leaves other bytes alone, including invalid UTF-8", () => {
  const body = new Uint8Array([0xff, ...bytes("key"), 0x80, 0xc3]);
  assert.deepEqual(redactSecrets(body, ["key"]), new Uint8Array([0xff, ...bytes("[REDACTED]"), 0x80, 0xc3]));
  assert.equal(redactSecrets(body, ["absent", "keyx"]), body);
  assert.equal(text(redactSecrets(bytes("ab"), ["abc"])), "ab", "a secret longer than the tail is no match");
});

Deno.test("sandbox credentials and hop-by-hop headers never go upstream", () => {
  const headers = upstreamRequestHeaders(
    new Headers({
      authorization: "Bearer sandbox",
      "x-api-key": "sandbox",
      "x-goog-api-key": "sandbox",
      "proxy-authorization": "Basic x",
      cookie: "a=b",
      connection: "keep-alive, x-hop",
      "x-hop": "1",
      "accept-encoding": "zstd",
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
    }),
  );
  assert.deepEqual([...headers], [
    ["accept-encoding", "gzip, br"],
    ["anthropic-version", "2023-06-01"],
    ["content-type", "application/json"],
  ]);
});

Deno.test("response credentials are stripped and undecodable encodings refused", () => {
  const headers = sandboxResponseHeaders(
    new Headers({
      "set-cookie": "s=1",
      authorization: "x",
      "x-api-key": "x",
      "proxy-authorization": "x",
      "content-encoding": "gzip",
      "content-length": "10",
      "content-type": "application/json",
    }),
  );
  assert.deepEqual([...headers!], [["content-type", "application/json"]]);
  assert.equal(sandboxResponseHeaders(new Headers({ "content-encoding": "deflate" })), undefined);
});
