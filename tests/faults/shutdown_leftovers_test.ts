/**
 * Shutdown leaves nothing behind (issue 13, item 10): after a signal to the
 * whole process group of `serve` (SIGTERM from a service manager, SIGHUP from
 * a closing terminal) no loop mount stays under the state directory and no
 * session-key copy stays in `/dev/shm`. The crash path (the next start
 * removes what a SIGKILLed run left) is `src/control_plane/leftovers_test.ts`.
 */
import assert from "node:assert/strict";
import { mountPointsUnder, volumesUnavailable } from "../../isolator/mod.ts";
import { planeKeyRoots } from "../../src/control_plane/mod.ts";
import { drainReplies } from "./inplane.ts";
import { faultDir, startServe } from "./serve_process.ts";
import { answered, sentSession } from "../support/api.ts";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

for (const signal of ["SIGTERM", "SIGHUP"] as const) {
  Deno.test({
    name: `fault: ${signal} to serve's process group unmounts every volume and removes every key copy`,
    ignore: volumesUnavailable() !== undefined,
    fn: async () => {
      await using dir = faultDir("ironclaw-fault-shutdown-");
      const stateDir = `${dir.path}/state`;
      await using serve = await startServe(stateDir);
      const sent = await answered(serve.api.v1.ui.chat.send.$post({
        json: { agentGroupId: "demo", text: "hi", chatId: "c" },
      }));
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      const sessionId = sentSession(sent.body);
      assert.deepEqual(await drainReplies(serve, "c", 1), ["mock-agent received: hi"], serve.output());
      const keyRoot = (await planeKeyRoots(stateDir)).process;
      const real = Deno.realPathSync(stateDir);
      // While it runs: the group's volumes are mounted and the session's key copy is in its key root.
      assert.ok(mountPointsUnder(real).length >= 3, serve.output());
      assert.ok(exists(`${keyRoot}/${sessionId}/session.key`), `no key copy under ${keyRoot}`);

      const status = await serve.signalGroup(signal);
      assert.equal(status.code, 0, serve.output());
      assert.deepEqual(mountPointsUnder(real), [], serve.output());
      assert.ok(!exists(keyRoot), `${keyRoot} is left`);
    },
  });
}
