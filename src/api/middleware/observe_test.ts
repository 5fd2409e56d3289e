import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { configureLogging } from "../../log/mod.ts";
import { openTestApi } from "../../../tests/support/api.ts";

Deno.test("a request that succeeds is a debug line; one that fails is a warning (access lines do not drown warnings)", async () => {
  for (const level of ["info", "debug"] as const) {
    const seen: LogRecord[] = [];
    await configureLogging({ sink: (r) => void seen.push(r), level });
    await using _logs = { [Symbol.asyncDispose]: () => configureLogging({ sink: () => {} }) };
    await using api = await openTestApi();
    assert.equal((await api.call("GET", "/v1/changes/pending")).status, 200);
    assert.equal((await api.call("GET", "/v1/changes/chg_nope")).status, 404);
    const access = seen.filter((r) => String(r.rawMessage).startsWith("{method} {path} →"))
      .map((r) => `${r.level} ${r.properties.path} ${r.properties.status}`);
    assert.deepEqual(
      access,
      level === "info"
        ? ["warning /v1/changes/chg_nope 404"]
        : ["debug /v1/changes/pending 200", "warning /v1/changes/chg_nope 404"],
    );
  }
});
