/**
 * `fetch` over a unix socket, for the agent's model SDKs and its broker
 * tools. The agent runs with no TCP network at all. The URL's host still goes
 * out as the `Host` header and in the absolute-form target: that is how the
 * host's model proxy picks the upstream.
 *
 * Connections are kept alive between requests ({@link Http1Client}): each
 * socket belongs to this one session, so a kept connection only ever carries
 * this session's calls, and the host's servers check every request as before.
 *
 * @module
 */
import { Http1Client } from "../../contract/http1_client.ts";

/** A `fetch` over one unix socket; disposing it closes its unused connections. */
export type UnixSocketFetch = typeof fetch & Disposable;

/**
 * A `RequestInit` key the SDKs pass through to `fetch` (in a call's
 * `fetchOptions`): a function called once the request's bytes are written
 * to the socket (see `Http1Client.fetch`'s `onSent`).
 */
export const ON_REQUEST_SENT: unique symbol = Symbol("ironclaw.onRequestSent");

/**
 * The `fetchOptions` that carry {@link ON_REQUEST_SENT} to `fetch` (typed as
 * the part of a `RequestInit` the SDKs let a call add to the one they build).
 */
export type SentNotice = Pick<RequestInit, "keepalive"> & { [ON_REQUEST_SENT]?: () => void };

/** Returns a `fetch` that sends every request to the HTTP server listening on `socketPath`. */
export function unixSocketFetch(socketPath: string): UnixSocketFetch {
  const client = new Http1Client({
    connect: () => Deno.connect({ transport: "unix", path: socketPath }),
    target: "absolute",
  });
  const send: typeof fetch = (input, init) => {
    const request = new Request(input, init);
    const { protocol } = new URL(request.url);
    if (protocol !== "http:") {
      return Promise.reject(
        new TypeError(`unix-socket fetch speaks plain http only (the proxy adds TLS), got ${protocol}`),
      );
    }
    return client.fetch(request, { onSent: (init as SentNotice | undefined)?.[ON_REQUEST_SENT] });
  };
  return Object.assign(send, { [Symbol.dispose]: () => client.close() });
}
