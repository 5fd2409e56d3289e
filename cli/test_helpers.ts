/**
 * Helpers shared by the CLI's tests.
 *
 * @module
 */

/** A loopback URL where nothing listens (the port was free a moment ago). */
export function closedPortUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return `http://127.0.0.1:${port}`;
}
