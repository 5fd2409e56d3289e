import assert from "node:assert/strict";
import { idleProgram, probeSession } from "../tests/support/isolator_harness.ts";
import { tempDir } from "../tests/support/mod.ts";
import { CGROUP_FS } from "./cpu_quota.ts";
import { RunscIsolator } from "./runsc.ts";
import { SANDBOX_TIMER_SLACK_NS, withTimerSlack } from "./timer_slack.ts";
import type { SandboxHandle } from "./types.ts";

/** This thread's timer slack (synchronous calls run on the calling thread; `/proc/thread-self` is `<pid>/task/<tid>`). */
const ownSlack = () =>
  Number(
    Deno.readTextFileSync(`/proc/${Deno.readLinkSync("/proc/thread-self").split("/").at(-1)}/timerslack_ns`),
  );

Deno.test("timer slack: the child inherits it, this thread keeps its own, even when the spawn throws", async () => {
  const before = ownSlack();
  assert.notEqual(before, 3_000_000);
  const { value: child, applied } = withTimerSlack(
    3_000_000,
    () => new Deno.Command("cat", { args: ["/proc/self/timerslack_ns"], stdout: "piped" }).spawn(),
  );
  assert.equal(applied, true);
  assert.equal(ownSlack(), before);
  assert.equal(new TextDecoder().decode((await child.output()).stdout).trim(), "3000000");
  assert.throws(() => withTimerSlack(3_000_000, () => new Deno.Command("/nonexistent/ironclaw").spawn()));
  assert.equal(ownSlack(), before);
  assert.throws(() => withTimerSlack(0, () => {}), RangeError);
});

/** Every thread of cgroup `path` (v1 cpu controller, or the unified hierarchy). */
function cgroupThreads(path: string): number[] | undefined {
  for (const file of [`cpu${path}/tasks`, `cpu,cpuacct${path}/tasks`, `${path.slice(1)}/cgroup.threads`]) {
    try {
      const tids = Deno.readTextFileSync(`${CGROUP_FS}/${file}`).trim().split("\n").filter(Boolean).map(
        Number,
      );
      if (tids.length) return tids;
    } catch {
      // Not this layout.
    }
  }
  return undefined;
}

Deno.test("runsc: every host thread of a sandbox (Sentry, gofer, stubs) runs with the sandbox timer slack", async () => {
  using state = tempDir("ironclaw-runsc-slack-");
  const sessionId = `ses_slack_${crypto.randomUUID().slice(0, 8)}`;
  await using session = await probeSession(sessionId, await idleProgram());
  const before = ownSlack();
  let handle: SandboxHandle | undefined;
  try {
    handle = await new RunscIsolator({ stateDir: state.path, platform: "ptrace" }).launch(session.spec);
    assert.equal(ownSlack(), before, "the host's own thread keeps its slack");
    // The agent's stub processes appear last: wait until the cgroup holds the Sentry's, the gofer's and theirs.
    const deadline = Date.now() + 30_000;
    let slacks: Map<number, number> = new Map();
    for (;;) {
      slacks = new Map();
      for (const tid of cgroupThreads(`/ironclaw/${sessionId}`) ?? []) {
        try {
          slacks.set(tid, Number(Deno.readTextFileSync(`/proc/${tid}/timerslack_ns`)));
        } catch {
          // The thread ended meanwhile.
        }
      }
      const processes = new Set(
        [...slacks.keys()].map((tid) => {
          try {
            return Deno.readTextFileSync(`/proc/${tid}/status`).match(/^Tgid:\s+(\d+)/m)?.[1];
          } catch {
            return undefined;
          }
        }),
      );
      if (processes.size >= 4 || Date.now() > deadline) break; // gofer, Sentry, stub parent, the agent's stub
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(slacks.size > 10, `the sandbox's threads: ${slacks.size}`);
    for (const [tid, slack] of slacks) assert.equal(slack, SANDBOX_TIMER_SLACK_NS, `thread ${tid}`);
  } finally {
    await handle?.stop();
  }
});
