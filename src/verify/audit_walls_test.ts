import assert from "node:assert/strict";
import { auditKeyedWall } from "./audit_walls.ts";

Deno.test("audit-keyed holds: each rewrite of a keyed, anchored log is caught, the untouched one verifies", async () => {
  const wall = await auditKeyedWall();
  assert.equal(wall.held, true, wall.detail);
  assert.match(
    wall.detail,
    /recomputed as SHA-256 \(line \d\); the same recomputed under another key \(line \d\); the last line dropped \(line 0\)$/,
  );
});
