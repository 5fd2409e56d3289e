/**
 * The host side of the doorbell: per-session wake signals over a unix
 * socket, so neither side has to wait for its poll interval; and the queue
 * lease server, through which the agent takes its turns on the queue files.
 *
 * @example
 * ```ts
 * import { DOORBELL_SOCKET_NAME } from "../../contract/sockets.ts";
 *
 * const socketDir = await Deno.makeTempDir();
 * const bell = new Doorbell(`${socketDir}/${DOORBELL_SOCKET_NAME}`, {
 *   onOutbound: () => console.log("the agent appended outbound rows"),
 *   // lease: queues.lease(sessionId) also serves lease.sock beside it
 * });
 * await bell.start();
 * bell.ring(); // after writing an inbound row
 * await bell.close();
 * await Deno.remove(socketDir, { recursive: true });
 * ```
 *
 * @module
 */
export { Doorbell, type DoorbellOptions } from "./doorbell.ts";
export { LeaseServer, type LeaseServerOptions } from "./lease_server.ts";
