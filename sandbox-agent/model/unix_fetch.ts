/**
 * `fetch` over a unix socket, for the agent's model SDKs and its egress
 * tools. The agent runs with no TCP network at all. The URL's host still goes
 * out as the `Host` header and in the absolute-form target: that is how the
 * host's model proxy picks the upstream.
 *
 * @module
 */
import { http1Fetch } from "../../contract/http1_client.ts";

/** Returns a `fetch` that sends every request to the HTTP server listening on `socketPath`. */
export function unixSocketFetch(socketPath: string): typeof fetch {
  return (input, init) => {
    const request = new Request(input, init);
    const { protocol } = new URL(request.url);
    if (protocol !== "http:") {
      return Promise.reject(
        new TypeError(`unix-socket fetch speaks plain http only (the proxy adds TLS), got ${protocol}`),
      );
    }
    return http1Fetch(request, {
      connect: () => Deno.connect({ transport: "unix", path: socketPath }),
      target: "absolute",
    });
  };
}
