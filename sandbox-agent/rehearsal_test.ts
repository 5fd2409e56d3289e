import assert from "node:assert/strict";
import { resolveLibraryPath } from "../contract/sqlite/mod.ts";
import type { LogFields, Logger } from "./log.ts";
import { rehearseAnswer, rehearseQueues } from "./rehearsal.ts";
import { builtinRegistry } from "./tools/mod.ts";
import { tempDir } from "./testing.ts";

function recordingLog() {
  const events: [string, LogFields | undefined][] = [];
  const log: Logger = {
    info: (event, fields) => events.push([event, fields]),
    warn: (event, fields) => events.push([event, fields]),
    error: (event, fields) => events.push([event, fields]),
  };
  return { log, events };
}

Deno.test("a spare's rehearsal runs the first turn's queue work on scratch files and leaves its directory empty", () => {
  // Both lock modes: private (gVisor) keeps its lock and journal for the connection's life.
  for (const privateLocks of [false, true]) {
    using dir = tempDir();
    const { log, events } = recordingLog();
    rehearseQueues(dir.path, { library: resolveLibraryPath(), log, privateLocks });
    assert.deepEqual(events.map(([event]) => event), ["spare.rehearsed"]);
    assert.deepEqual([...Deno.readDirSync(dir.path)], [], "nothing left for the claim to refuse");
  }
});

Deno.test("a rehearsal that cannot run is logged, never thrown: the first turn then pays for itself", () => {
  using dir = tempDir();
  const { log, events } = recordingLog();
  rehearseQueues(`${dir.path}/missing`, { library: resolveLibraryPath(), log });
  assert.deepEqual(events.map(([event]) => event), ["spare.rehearsal_failed", "spare.rehearsed"]);
  assert.deepEqual([...Deno.readDirSync(dir.path)], []);
});

Deno.test("a spare's answer rehearsal lists MCP tools and calls each wire's SDK in memory, without a socket", async () => {
  for (const provider of ["mock", "openai", "openrouter", "anthropic"] as const) {
    const { log, events } = recordingLog();
    await rehearseAnswer({ provider, tools: builtinRegistry(), log });
    assert.deepEqual(
      events.map(([event]) => event),
      ["spare.rehearsed_answer"],
      `${provider}: ${JSON.stringify(events)}`,
    );
  }
});
