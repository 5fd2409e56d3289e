/**
 * The wake path: how a session's sandbox is started or rung. The
 * {@link GuardedWaker} launches a sandbox that is not running (once, however
 * many wakes arrive) and rings one that is, after asking the
 * {@link RespawnBackoff} whether a launch may happen now; a session that
 * keeps failing is parked, durably ({@link RegistryParking}), until an
 * operator unparks it. The sweep (`src/sweep/`) uses the same backoff.
 *
 * ```ts
 * import { ControlPlane } from "../control_plane/mod.ts";
 *
 * const stateDir = await Deno.makeTempDir();
 * const plane = await ControlPlane.open({ stateDir, dev: true, background: false });
 * const { registry, sandboxes: control } = plane;
 * const backoff = new RespawnBackoff({ parking: new RegistryParking(registry) });
 * const waker = new GuardedWaker({ control, backoff, registry });
 * waker.close();
 * await plane.close();
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
export { RespawnBackoff } from "./backoff.ts";
export type { BackoffOptions, LaunchGate, ParkedSession, ParkingLot } from "./backoff.ts";
export { RegistryParking } from "./parking.ts";
export { GuardedWaker, SessionParkedError } from "./waker.ts";
export type { GuardedWakerDeps, SandboxControl } from "./waker.ts";
