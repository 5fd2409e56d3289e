/**
 * Host-owned unix sockets that sandboxes connect to: the socket file's
 * lifecycle, and a server skeleton that tracks its connections.
 *
 * @module
 */
export { DEFAULT_SOCKET_MODE, prepareSocketPath, removeSocket } from "./socket_file.ts";
export { SocketServer } from "./socket_server.ts";
export { type SessionHandler, SessionServers } from "./session_servers.ts";
export type { ConnectionHandler } from "./socket_server.ts";
