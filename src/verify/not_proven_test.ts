import assert from "node:assert/strict";
import type { ProbeReport } from "../../isolator/mod.ts";
import { isNotProven, NOT_PROVEN, withoutHostObservations } from "./not_proven.ts";

const walls = [
  { name: "network-tcp", held: true, detail: "every attempt refused, no connection seen" },
  { name: "processes", held: false, detail: "fork succeeded" },
];

Deno.test("without host observations a held wall is not proven and a fallen one stays fallen", () => {
  const report = { phase: "done", attempts: [] } as unknown as ProbeReport;
  const out = withoutHostObservations(walls, { report, exit: { code: 0 }, log: "" });
  assert.equal(out[0].held, false);
  assert.ok(isNotProven(out[0]));
  assert.match(out[0].detail, /host evidence this wall needs is not observed/);
  assert.deepEqual(out[1], walls[1]);
  assert.ok(!isNotProven(out[1]));
});

Deno.test("with no probe report every wall is not proven, naming how the sandbox ended", () => {
  const out = withoutHostObservations(walls, {
    exit: { code: null, signal: "SIGKILL" },
    log: "ironclaw: the container cannot start: ErrImagePull\n",
  });
  for (const wall of out) {
    assert.equal(wall.held, false);
    assert.ok(wall.detail.startsWith(NOT_PROVEN));
    assert.match(
      wall.detail,
      /never reported from the Pod \(the sandbox ended with SIGKILL: .*ErrImagePull\)/,
    );
  }
});
