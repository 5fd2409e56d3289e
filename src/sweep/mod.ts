/**
 * Keeping sandboxes honest: the liveness probe, and the sweep that kills
 * stuck sandboxes, resets a healthy one's backoff and retries deferred wakes
 * (through the wake path, `src/wake/`).
 *
 * ```ts
 * import { ControlPlane } from "../control_plane/mod.ts";
 * import { GuardedWaker, RegistryParking, RespawnBackoff } from "../wake/mod.ts";
 *
 * const stateDir = await Deno.makeTempDir();
 * const plane = await ControlPlane.open({ stateDir, dev: true, background: false });
 * const { registry, sandboxes: control, queues } = plane;
 * const backoff = new RespawnBackoff({ parking: new RegistryParking(registry) });
 * const waker = new GuardedWaker({ control, backoff, registry });
 * const probe = new QueueProbe({ queues, heartbeatPath: (sessionId) => control.heartbeatPath(sessionId) });
 * const sweep = new Sweep({ registry, control, probe, backoff, waker });
 * sweep.start();
 * await sweep.stop();
 * await plane.close();
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
export { QueueProbe } from "./probe.ts";
export type { ProbeResult, QueueProbeDeps, SessionProbe } from "./probe.ts";
export { decideStuckAction, DEFAULT_IDLE_STOP_MS, STUCK_LIMITS, Sweep } from "./sweep.ts";
export type { IdleStop, StuckAction, SweepDeps, SweepReport } from "./sweep.ts";
