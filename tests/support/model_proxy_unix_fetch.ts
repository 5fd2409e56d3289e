/**
 * A `fetch` that sends every request to an HTTP/1.1 server on a unix socket,
 * the way the sandbox reaches the model proxy: the socket is treated as a
 * forward proxy, so the request's URL names the upstream host.
 *
 * @module
 */

/** A fetch over `socketPath`, for an SDK's `fetch` option. Dispose to close its connections. */
export function unixSocketFetch(socketPath: string): { fetch: typeof fetch } & Disposable {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socketPath } });
  return {
    fetch: (input, init) => fetch(input, { ...init, client }),
    [Symbol.dispose]: () => client.close(),
  };
}
