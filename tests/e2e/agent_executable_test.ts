/**
 * The release path, end to end: the control plane runs agents as a compiled
 * `ironclaw-agent` executable (named like `serve --agent-program`), launched
 * directly in the sandbox with no Deno binary, bundle or module cache bound
 * in. `deno compile` cannot run here, so the executable is the stand-in of
 * `agent_launcher.ts`: one file carrying a Deno runtime, the agent bundle and
 * the release's baked-in flags. It needs `execve` in the sandbox, hence
 * bwrap; the plan under runsc, and a real runsc launch of an executable, are
 * covered in `isolator/agent_executable_test.ts`.
 */
import assert from "node:assert/strict";
import { BwrapIsolator, SANDBOX_UID } from "../../isolator/mod.ts";
import { SANDBOX_AGENT, SANDBOX_DENO, SANDBOX_ENV, SANDBOX_PROGRAM } from "../../isolator/plan.ts";
import { runServe } from "../../cli/serve.ts";
import { captureIo } from "../../cli/output.ts";
import { DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { sessionDirs } from "../../src/sandbox/session_dirs.ts";
import { tempDir } from "../support/mod.ts";
import { buildAgentLauncher } from "./agent_launcher.ts";
import { diagnose, nextReplies } from "./harness.ts";
import { openPlane } from "./plane.ts";

/** Whether bwrap runs here at all (root, installed, its smoke launch of Deno passes). */
async function bwrapWorks(): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  using dir = tempDir("ironclaw-bwrap-check-");
  return (await new BwrapIsolator({ stateDir: dir.path }).check()).ok;
}

const available = await bwrapWorks();

/** The command lines of this machine's bwrap processes that bind `socketDir` (one session's sandbox). */
function bwrapCommandLines(socketDir: string): string[][] {
  const lines: string[][] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let argv: string[];
    try {
      argv = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0").slice(0, -1);
    } catch {
      continue; // ended meanwhile
    }
    if (argv[0]?.endsWith("bwrap") && argv.includes(socketDir)) lines.push(argv);
  }
  return lines;
}

Deno.test({
  name:
    "e2e (bwrap, compiled agent): chat send → the agent executable run directly → reply; no Deno in the sandbox",
  ignore: !available,
  fn: async () => {
    using dir = tempDir("ironclaw-e2e-exe-");
    Deno.mkdirSync(`${dir.path}/release`);
    const launcher = await buildAgentLauncher(`${dir.path}/release`);
    Deno.mkdirSync(`${dir.path}/state`);
    await using host = await openPlane(`${dir.path}/state`, {
      isolator: "bwrap",
      agentExecutable: launcher,
      agentExecutableFrom: "--agent-program",
    });
    assert.equal(host.plane.agentProgram.kind, "executable");
    assert.equal(
      host.plane.agentProgram.description,
      `${launcher} (the compiled agent, run directly; --agent-program)`,
    );
    // Choosing bwrap smoke-ran the executable itself: the real agent's answer to --version passed the check.
    const choice = await host.plane.isolator();
    assert.equal(choice.isolator.kind, "bwrap");

    const sent = await host.api("POST", "/v1/ui/chat/send", {
      agentGroupId: DEMO_AGENT_ID,
      text: "hello there",
    });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const outcome = sent.body.outcomes[0];
    assert.equal(outcome.wakeError, undefined, outcome.wakeError);
    assert.deepEqual(await nextReplies(host, sent.body.chatId), ["mock-agent received: hello there"]);

    // The running sandbox, as bwrap was told to build it: the executable bound read-only at its fixed
    // path and run directly as the sandbox's uid; no Deno binary, bundle or Deno cache bound in.
    const socketDir = sessionDirs(`${host.stateDir}/sandbox`, outcome.sessionId, DEMO_AGENT_ID).socketDir;
    // bwrap forks once into the new namespaces, and the child keeps its parent's command line.
    const lines = bwrapCommandLines(socketDir);
    assert.ok(lines.length >= 1, await diagnose(host));
    const argv = lines[0];
    for (const line of lines) assert.deepEqual(line, argv);
    const bound = argv.flatMap((a, i) =>
      ["--bind", "--ro-bind"].includes(a) ? [[argv[i + 1], argv[i + 2]]] : []
    );
    assert.deepEqual(bound.filter(([, to]) => to === SANDBOX_AGENT), [[launcher, SANDBOX_AGENT]]);
    for (const absent of [SANDBOX_DENO, SANDBOX_PROGRAM, SANDBOX_ENV.DENO_DIR]) {
      assert.ok(!bound.some(([, to]) => to === absent), `${absent} is bound`);
    }
    assert.ok(argv.includes(`--reuid=${SANDBOX_UID}`));
    const command = argv.slice(argv.lastIndexOf("--") + 1);
    assert.equal(command[0], SANDBOX_AGENT);
    assert.match(command[1], /^--layout=/);
    assert.ok(
      !command.some((a) => a === "run" || a === "--no-prompt" || /^--(allow|deny)-/.test(a)),
      command.join(" "),
    );

    // The conversation carries on in the same sandbox.
    const second = await host.api("POST", "/v1/ui/chat/send", {
      agentGroupId: DEMO_AGENT_ID,
      text: "and a second one",
      chatId: sent.body.chatId,
    });
    assert.equal(second.body.outcomes[0].sessionId, outcome.sessionId);
    assert.deepEqual(await nextReplies(host, sent.body.chatId), ["mock-agent received: and a second one"]);
  },
});

Deno.test({
  name: "serve --agent-program: the start line names the compiled agent the sandboxes run",
  ignore: !available,
  fn: async () => {
    using dir = tempDir("ironclaw-serve-exe-");
    Deno.mkdirSync(`${dir.path}/release`);
    const launcher = await buildAgentLauncher(`${dir.path}/release`);
    const io = captureIo();
    const stop = new AbortController();
    const { promise: listening, resolve } = Promise.withResolvers<void>();
    const watched = {
      ...io,
      out: (line: string) => {
        io.out(line);
        if (line.includes("listening on")) resolve();
      },
    };
    const running = runServe(watched, {
      dev: true,
      stateDir: `${dir.path}/state`,
      apiAddr: "127.0.0.1:0",
      isolator: "bwrap",
      agentProgram: launcher,
    }, stop.signal);
    await Promise.race([listening, running.then(() => Promise.reject(new Error(io.stderr.join("\n"))))]);
    stop.abort();
    await running;
    assert.ok(
      io.stdout.some((l) => l.startsWith("agents run in: isolator bwrap (namespaces)")),
      io.stdout.join("\n"),
    );
    assert.ok(
      io.stdout.includes(`agent program: ${launcher} (the compiled agent, run directly; --agent-program)`),
      io.stdout.join("\n"),
    );
  },
});
