/**
 * A gVisor sandbox killed with SIGKILL (runsc, its Sentry and gofer) right
 * as a message is rung: the agent there holds its outbound lock and journal
 * for its life (`--queue-locks=private`), so this is the kill -9 of a writer
 * in that mode. The plane relaunches it, the new agent rolls back whatever
 * was cut short, and the message is answered exactly once; the next one too.
 */
import assert from "node:assert/strict";
import { faultDir } from "./serve_process.ts";
import { drainReplies, openFaultPlane, send } from "./inplane.ts";
import { backendWorks, diagnose } from "../e2e/harness.ts";

/** The host processes of the runsc sandbox serving `sessionId` (its id is on their command lines). */
function sandboxPids(sessionId: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (cmd.includes("runsc") && cmd.includes(sessionId)) pids.push(Number(entry.name));
    } catch {
      // gone
    }
  }
  return pids;
}

Deno.test({
  name: "fault (runsc): a sandbox SIGKILLed as a message is rung is relaunched and answers it once",
  ignore: !(await backendWorks("runsc")),
  fn: async () => {
    await using dir = faultDir("ironclaw-fault-runsc-");
    await using host = await openFaultPlane(dir.path, { isolator: "runsc" });
    const sessionId = await send(host, "k", "warm up");
    assert.deepEqual(
      await drainReplies(host, "k", 1),
      ["mock-agent received: warm up"],
      await diagnose(host),
    );
    const pids = sandboxPids(sessionId);
    assert.ok(pids.length > 0, "the sandbox's processes are found");

    await send(host, "k", "are you still there?");
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // already gone with its parent
      }
    }
    assert.deepEqual(
      await drainReplies(host, "k", 1),
      ["mock-agent received: are you still there?"],
      await diagnose(host),
    );
    await send(host, "k", "and again");
    assert.deepEqual(await drainReplies(host, "k", 1), ["mock-agent received: and again"]);
  },
});
