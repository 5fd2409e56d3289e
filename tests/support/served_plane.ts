/**
 * A control plane served on loopback for tests that drive the CLI against it
 * (the CLI's tests, a channel's doctor check).
 *
 * @module
 */
import { startApiServer } from "../../src/api/mod.ts";
import { resolveApiToken } from "../../src/control_plane/mod.ts";
import { openFakeSandboxPlane } from "./plane.ts";

/** A loopback URL where nothing listens (the port was free a moment ago). */
export function closedPortUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

/** A fake-sandbox control plane behind a real API server on loopback, with the CLI flags that reach it. */
export async function servedFakePlane(options: Parameters<typeof openFakeSandboxPlane>[0] = {}) {
  const plane = await openFakeSandboxPlane(options);
  const { token } = await resolveApiToken(plane.stateDir, undefined);
  const server = startApiServer(plane.plane, { token, hostname: "127.0.0.1", port: 0 });
  return {
    ...plane,
    server,
    token,
    flags: ["--api-url", server.url, "--state-dir", plane.stateDir],
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await plane[Symbol.asyncDispose]();
    },
  };
}
