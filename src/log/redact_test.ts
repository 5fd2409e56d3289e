import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { configureLogging, isSecretKey, logger, redact, REDACTED } from "./mod.ts";

Deno.test("secret-named keys are recognised in every spelling", () => {
  for (
    const k of [
      "apiKey",
      "x-api-key",
      "bot_token",
      "Authorization",
      "password",
      "ANTHROPIC_API_KEY",
      "privateKey",
      "cookie",
    ]
  ) {
    assert.ok(isSecretKey(k), k);
  }
  for (const k of ["sessionId", "monkey", "keyboard", "changeId", "status", "tokenizer"]) {
    assert.equal(isSecretKey(k), false, k);
  }
});

Deno.test("redaction reaches nested objects and arrays and leaves the original alone", () => {
  const value = {
    user: "a",
    headers: { authorization: "Bearer s3cret", accept: "x" },
    list: [{ token: "t" }],
  };
  assert.deepEqual(redact(value), {
    user: "a",
    headers: { authorization: REDACTED, accept: "x" },
    list: [{ token: REDACTED }],
  });
  assert.equal(value.headers.authorization, "Bearer s3cret");
});

Deno.test("configured loggers never hand a secret to a sink", async () => {
  const seen: LogRecord[] = [];
  await configureLogging({ sink: (r) => void seen.push(r), level: "debug" });
  logger("test").info("minted {what} {apiToken}", {
    what: "token",
    apiToken: "abc123",
    nested: { password: "pw" },
  });
  assert.equal(seen.length, 1);
  assert.deepEqual(seen[0].properties, { what: "token", apiToken: REDACTED, nested: { password: REDACTED } });
  assert.deepEqual(seen[0].message, ["minted ", "token", " ", REDACTED, ""]);
  assert.ok(!JSON.stringify(seen[0]).includes("abc123"));
});
