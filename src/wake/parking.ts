/**
 * Parking recorded in the registry: a parked session's container status is
 * `parked` (visible to operators in every session listing); unparking sets
 * it to `stopped`.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import type { Registry } from "../registry/mod.ts";
import type { ParkingLot } from "./backoff.ts";

/** A {@link ParkingLot} over the registry's sessions. */
export class RegistryParking implements ParkingLot {
  constructor(private readonly registry: Registry) {}

  park(sessionId: SessionId): void {
    this.registry.setContainerStatus(sessionId, "parked");
  }

  unpark(sessionId: SessionId): void {
    this.registry.setContainerStatus(sessionId, "stopped");
  }

  parked(): SessionId[] {
    return this.registry.listSessions().filter((s) => s.containerStatus === "parked").map((s) => s.id);
  }
}
