/**
 * The real agent program in the two real sandboxes (gVisor and bubblewrap),
 * reaching the host's model proxy (mock upstream) and doorbell through the
 * sockets bound in at the contract's fixed layout.
 */
import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { ENTRYPOINTS } from "../../contract/permissions.ts";
import { DOORBELL_SOCKET_NAME, MODEL_SOCKET_NAME } from "../../contract/sockets.ts";
import { BwrapIsolator, type Isolator, RunscIsolator } from "../../isolator/mod.ts";
import { Doorbell } from "../../src/doorbell/mod.ts";
import { ModelProxy } from "../../src/model_proxy/mod.ts";
import { awaitReply, bundledProgram, probeSession, writeInbound } from "../support/isolator_harness.ts";

const MAIN = new URL(`../../${ENTRYPOINTS.agent}`, import.meta.url).pathname;

/**
 * KNOWN FAILURE, runsc ignored until fixed: the host's read-only outbound
 * reader meets the agent's rollback journal as a hot journal ("attempt to
 * write a readonly database"). gVisor keeps the agent's POSIX file locks
 * inside the sandbox, so the host does not see the writer's lock, and the
 * DELETE-journal handshake across the boundary breaks.
 */
const BACKENDS: [string, (stateDir: string) => Isolator, boolean][] = [
  ["runsc", (stateDir) => new RunscIsolator({ stateDir, platform: "ptrace" }), true],
  ["bwrap", (stateDir) => new BwrapIsolator({ stateDir }), false],
];

for (const [kind, make, ignore] of BACKENDS) {
  Deno.test(
    { name: `${kind}: the sandboxed agent answers through the host's model proxy`, ignore },
    async () => {
      const sessionId = `ses_${kind}`;
      await using session = await probeSession(sessionId, await bundledProgram(MAIN));
      const isolator = make(`${session.root}/state`);
      const check = await isolator.check();
      assert.ok(check.ok, check.detail);
      const proxy = new ModelProxy({ credentials: () => undefined });
      await proxy.openSession(sessionId as SessionId, `${session.spec.socketDir}/${MODEL_SOCKET_NAME}`);
      const bell = new Doorbell(`${session.spec.socketDir}/${DOORBELL_SOCKET_NAME}`, {
        onOutbound: () => {},
      });
      await bell.start();
      const handle = await isolator.launch({ ...session.spec, args: ["--provider=mock", "--poll-ms=100"] });
      try {
        const id = writeInbound(session, "hello from the host");
        bell.ring();
        const reply = await awaitReply(session, handle, id);
        assert.equal(reply.content, "mock-agent received: hello from the host");
      } finally {
        await handle.stop();
        await bell.close();
        await proxy.close();
      }
    },
  );
}
