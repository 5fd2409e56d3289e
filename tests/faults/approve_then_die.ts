/**
 * A control plane killed mid-approval, as its own process: opens the plane
 * over the state directory given, submits a persona change, records a
 * human's approval exactly as the gateway does (the durable decision and its
 * audit line), then SIGKILLs itself before the change is applied. Prints the
 * change's id first.
 *
 * Usage: `approve_then_die.ts <state-dir> <instructions>`
 *
 * @module
 */
import { nowTimestamp } from "../../contract/time.ts";
import { ControlPlane, DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { LIBRARY } from "../support/mod.ts";

const [stateDir, instructions] = Deno.args;
const plane = await ControlPlane.open({ stateDir, dev: true, library: LIBRARY, background: false });
const record = await plane.gateway.submit({
  kind: "persona",
  agentGroupId: DEMO_AGENT_ID,
  requestedBy: "fault:test",
  after: { instructions },
});
if (record.status !== "pending") throw new Error(`expected a pending change, got ${record.status}`);
const { id, kind } = record.request;
// The gateway's decision step, and nothing after it: the apply never starts.
plane.changes.setDecision(
  id,
  { outcome: "approve", decidedBy: "fault:human", decidedAt: nowTimestamp() },
  "approved",
);
await plane.audit.append({ stage: "decision", changeId: id, kind, detail: "approve by fault:human" });
console.log(id);
Deno.kill(Deno.pid, "SIGKILL");
