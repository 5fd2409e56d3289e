/**
 * The real agent program in the two real sandboxes (gVisor and bubblewrap),
 * behind the host's real message path: the router writes inbound, delivery
 * reads outbound on its own timer and on every ring (so host reads run while
 * the agent writes), and replies reach a fake channel. The agent reaches the
 * model proxy (mock upstream), the MCP broker (no grants: it lists nothing),
 * the doorbell and the queue lease through the sockets bound in at the
 * contract's fixed layout.
 *
 * Under gVisor SQLite's file locks do not cross the sandbox boundary; the
 * queue lease is what keeps the two sides' transactions apart there.
 */
import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { ENTRYPOINTS } from "../../contract/permissions.ts";
import { DOORBELL_SOCKET_NAME, MCP_SOCKET_NAME, MODEL_SOCKET_NAME } from "../../contract/sockets.ts";
import {
  BwrapIsolator,
  type Isolator,
  RunscIsolator,
  SANDBOX_GID,
  SANDBOX_UID,
  type SandboxHandle,
} from "../../isolator/mod.ts";
import { HostFixture } from "../support/host.ts";
import { Doorbell } from "../../src/doorbell/mod.ts";
import { ModelProxy } from "../../src/model_proxy/mod.ts";
import { GrantedTools, McpBroker, McpConnections, mcpTransports } from "../../src/mcp/mod.ts";
import { bundledProgram } from "../support/isolator_harness.ts";
import { LIBRARY } from "../support/mod.ts";

const MAIN = new URL(`../../${ENTRYPOINTS.agent}`, import.meta.url).pathname;
const MESSAGES = 4;

const BACKENDS: [string, (stateDir: string) => Isolator][] = [
  ["runsc", (stateDir) => new RunscIsolator({ stateDir, platform: "ptrace" })],
  ["bwrap", (stateDir) => new BwrapIsolator({ stateDir })],
];

/** `promise`, or a failure with the sandbox's log if the sandbox exits first. */
async function beforeExit<T>(handle: SandboxHandle, promise: Promise<T>): Promise<T> {
  const exited = handle.exited.then(async (status) => {
    const log = await Deno.readTextFile(handle.logPath).catch(() => "(no log)");
    throw new Error(`sandbox exited (${JSON.stringify(status)}) early:\n${log.slice(-4000)}`);
  });
  return await Promise.race([promise, exited]);
}

for (const [kind, make] of BACKENDS) {
  Deno.test(`${kind}: the sandboxed agent answers message after message while the host delivers`, async () => {
    const dir = Deno.makeTempDirSync({ prefix: `ironclaw-${kind}-` });
    // A short fallback poll: delivery reads outbound every 20 ms besides each ring.
    const host = await HostFixture.open(dir, { delivery: { fallbackMs: 20 } });
    const proxy = new ModelProxy({ credentials: () => undefined });
    // The real broker over a catalog with no servers and a group with no grants.
    const noServers = new McpConnections(() => undefined, { transports: mcpTransports() });
    const mcp = new McpBroker({
      granted: new GrantedTools({
        grants: () => [],
        pins: () => new Map(),
        connections: noServers,
        onWithheld: () => Promise.resolve(),
      }),
      connections: noServers,
    });
    let bell: Doorbell | undefined;
    let handle: SandboxHandle | undefined;
    try {
      host.seedChat();
      const route = async (text: string) => {
        const { outcomes } = await host.router.route({
          channelType: "fake",
          platformId: "C1",
          senderHandle: "alice",
          text,
        });
        return outcomes[0].sessionId!;
      };
      const sessionId: SessionId = await route("message 1");
      const paths = host.queues.paths(sessionId);
      // The agent runs as the sandbox uid: hand it the queue directories and files, as a root host does.
      for (const path of [paths.inboundDir, paths.inbound, paths.outboundDir, paths.outbound]) {
        Deno.chownSync(path, SANDBOX_UID, SANDBOX_GID);
      }
      for (const sub of ["workspace", "memory", "sockets", "state"]) Deno.mkdirSync(`${dir}/${sub}`);
      const socketDir = `${dir}/sockets`;
      await proxy.openSession(sessionId, `${socketDir}/${MODEL_SOCKET_NAME}`);
      await mcp.openSession(sessionId, {
        agentGroupId: "ag-demo",
        socketPath: `${socketDir}/${MCP_SOCKET_NAME}`,
      });
      bell = new Doorbell(`${socketDir}/${DOORBELL_SOCKET_NAME}`, {
        onOutbound: () => host.delivery.notify(sessionId),
        lease: host.queues.lease(sessionId),
      });
      await bell.start();
      const isolator = make(`${dir}/state`);
      const check = await isolator.check();
      assert.ok(check.ok, check.detail);
      host.delivery.start();
      handle = await isolator.launch({
        sessionId,
        inboundDir: paths.inboundDir,
        outboundDir: paths.outboundDir,
        key: { bytes: await host.queues.sessionKey(sessionId) },
        workspaceDir: `${dir}/workspace`,
        memoryDir: `${dir}/memory`,
        socketDir,
        library: LIBRARY,
        denoPath: Deno.execPath(),
        program: await bundledProgram(MAIN),
        args: ["--provider=mock", "--poll-ms=100"],
      });
      bell.ring();
      for (let n = 1; n <= MESSAGES; n++) {
        if (n > 1) {
          await route(`message ${n}`);
          bell.ring();
        }
        await beforeExit(handle, host.fake.until(n));
        assert.equal(
          host.fake.delivered[n - 1].content,
          `mock-agent received: message ${n}`,
        );
      }
      assert.deepEqual(
        host.fake.delivered.map((m) => m.sessionId),
        Array(MESSAGES).fill(sessionId),
        "each reply delivered once, to the session's chat",
      );
      const log = await Deno.readTextFile(handle.logPath);
      assert.doesNotMatch(log, /"level":"(warn|error)"|outside the queue lease/, log);
      assert.equal(host.queues.lease(sessionId).revocations, 0, "no lease ran into its cap");
    } finally {
      await handle?.stop();
      await bell?.close();
      await proxy.close();
      await mcp.close();
      await host[Symbol.asyncDispose]();
      Deno.removeSync(dir, { recursive: true });
    }
  });
}
