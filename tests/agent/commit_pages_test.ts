/**
 * How many pages of `outbound.db` each of a warm turn's two agent commits
 * writes (counted from the file's bytes: SQLCipher rewrites every page it
 * writes with a fresh IV). Under gVisor each page costs the agent a journal
 * write or three, a database write and an encryption, so a schema or state
 * change that adds a page to every turn fails here. A file of the layout
 * before 2026-12-07 is served by the same loop, with more pages a turn.
 */
import assert from "node:assert/strict";
import { Database } from "../../contract/sqlite/mod.ts";
import { LoopHarness } from "../support/agent_loop_harness.ts";
import { fixedKey, LIBRARY } from "../support/mod.ts";
import { recordingCommits } from "../support/page_diff.ts";
import { useEarlierOutboundLayout } from "../support/outbound_layouts.ts";

const OPTS = { library: LIBRARY, key: fixedKey(0x11) };

/** Pages written by each turn's [engage, reply] commits, over `turns` warm turns after a first one. */
async function warmTurns(h: LoopHarness, turns: number): Promise<[number, number][]> {
  const pages: number[] = [];
  const loop = h.loop({
    privateLocks: true,
    wrapOutbound: (w) => recordingCommits(w, h.paths.outbound, (c) => pages.push(c.written.length)),
  });
  const perTurn: [number, number][] = [];
  for (let i = 0; i <= turns; i++) {
    pages.length = 0;
    h.write({ id: `in_${i}`, content: `turn ${i}` });
    assert.equal(await loop.poll(), "engaged");
    assert.equal(pages.length, 2, "two commits a turn: engage, reply");
    // What the host's delivery pass mirrors into inbound after the reply.
    h.host.advanceStatuses([{ messageId: `in_${i}`, status: "completed" }]);
    if (i > 0) perTurn.push([pages[0], pages[1]]);
  }
  h.release();
  assert.equal(h.outbound().length, turns + 1, "every turn answered once");
  assert.deepEqual(h.acks().map((a) => a.status), Array(turns + 1).fill("completed"));
  return perTurn;
}

Deno.test("commit pages: a warm turn's engage commit writes at most 2 pages of outbound, its reply at most 5", async () => {
  await using h = await LoopHarness.start();
  const turns = await warmTurns(h, 10);
  assert.ok(turns.every(([engage]) => engage <= 2), `engage pages ${JSON.stringify(turns)}`);
  assert.ok(turns.every(([, reply]) => reply <= 5), `reply pages ${JSON.stringify(turns)}`);
});

Deno.test("commit pages: an outbound file of the earlier layout is served by the loop, with more pages at each commit", async () => {
  await using h = await LoopHarness.start();
  {
    using db = Database.open(h.paths.outbound, OPTS);
    useEarlierOutboundLayout(db);
  }
  const turns = await warmTurns(h, 10);
  assert.ok(turns.every(([engage]) => engage >= 3), `engage pages ${JSON.stringify(turns)}`);
  assert.ok(turns.every(([, reply]) => reply >= 6), `reply pages ${JSON.stringify(turns)}`);
});
