/**
 * A configurable end-to-end host (the harness's {@link openHost} with the
 * control plane's options open): credentials, upstreams, extra channels, a
 * kept state directory to reopen, background loops on or off. The agent is
 * bundled once per test process and shared by every plane (process and
 * bwrap backends; runsc builds its own, as in production).
 *
 * @module
 */
import type { IsolatorPreference } from "../../isolator/mod.ts";
import { type ApiRpc, type ApiServer, startApiServer } from "../../src/api/mod.ts";
import { ControlPlane, type ControlPlaneOptions } from "../../src/control_plane/mod.ts";
import { AGENT_SOURCE, bundleAgent } from "../../src/sandbox/mod.ts";
import { typedApi } from "../support/api.ts";
import { LIBRARY } from "../support/mod.ts";
import { drainChat } from "../support/web_chat_client.ts";

/** The API token of every end-to-end host. */
export const E2E_TOKEN = "e2e-token-0123456789abcdef";

/** A running control plane and its API. */
export interface E2eHost extends AsyncDisposable {
  plane: ControlPlane;
  server: ApiServer;
  stateDir: string;
  /** The API's typed client (read an answer with `answered`). */
  api: ApiRpc;
}

let bundle: Promise<string> | undefined;

/** The agent bundled once for this process (removed at exit). */
export function sharedAgentBundle(): Promise<string> {
  if (!bundle) {
    const dir = Deno.makeTempDirSync({ prefix: "ironclaw-e2e-agent-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    bundle = bundleAgent(dir, AGENT_SOURCE);
  }
  return bundle;
}

/** What {@link openPlane} takes: the plane's options minus the ones it fills in. */
export type PlaneOptions = Omit<ControlPlaneOptions, "stateDir" | "isolator" | "library"> & {
  isolator: IsolatorPreference;
};

/**
 * Opens a dev control plane over `stateDir` (created by the caller, not
 * removed here, so a test can reopen it) and its API on a free port.
 */
export async function openPlane(stateDir: string, options: PlaneOptions): Promise<E2eHost> {
  const agentProgram = options.agentProgram ??
    (options.isolator === "runsc" ? undefined : await sharedAgentBundle());
  const plane = await ControlPlane.open({
    dev: true,
    agentPollMs: 200,
    ...options,
    agentProgram,
    stateDir,
    library: LIBRARY,
  });
  const server = startApiServer(plane, {
    token: E2E_TOKEN,
    hostname: "127.0.0.1",
    port: 0,
    rateLimit: { ratePerSecond: 1e6, burst: 1e6 },
  });
  return {
    plane,
    server,
    stateDir,
    api: typedApi(server.url, E2E_TOKEN),
    [Symbol.asyncDispose]: async () => {
      try {
        await server.shutdown();
        await server.finished;
      } finally {
        await plane.close();
      }
    },
  };
}

/**
 * Drains the web chat until `done(replies so far)` holds; every drain
 * long-polls, so this waits on replies, not on a clock. Fails after `polls`
 * drains with no progress.
 */
export async function collectReplies(
  host: E2eHost,
  chatId: string,
  done: (replies: string[]) => boolean,
  polls = 8,
): Promise<string[]> {
  const replies: string[] = [];
  let idle = 0;
  while (!done(replies)) {
    const got = (await drainChat(host.api, { chatId, waitMs: 20_000 })).map((m) => m.content);
    replies.push(...got);
    idle = got.length > 0 ? 0 : idle + 1;
    if (idle >= polls || host.plane.waker.parked().length > 0) {
      throw new Error(`replies so far ${JSON.stringify(replies)}; gave up waiting`);
    }
  }
  return replies;
}
