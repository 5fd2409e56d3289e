/**
 * The host side of the doorbell: per-session wake signals over a unix
 * socket, so neither side has to wait for its poll interval.
 *
 * @example
 * ```ts
 * const bell = new Doorbell(`${socketDir}/${DOORBELL_SOCKET_NAME}`, { onOutbound: () => delivery.wake() });
 * await bell.start();
 * bell.ring(); // after writing an inbound row
 * ```
 *
 * @module
 */
export { Doorbell, type DoorbellOptions } from "./doorbell.ts";
