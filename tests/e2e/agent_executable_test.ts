/**
 * The release path, end to end: the control plane runs agents as a compiled
 * `ironclaw-agent` executable (named like `serve --agent-program`), launched
 * directly in the sandbox with no Deno binary, bundle or module cache bound
 * in, under bwrap and under runsc (gVisor, whose filter denies `execve`).
 * `deno compile` cannot run here, so the executable is a compiled-program
 * stand-in (`tests/support/compiled_standin.ts`): one file carrying a Deno
 * runtime, the agent bundle and the release's baked-in flags, which loads
 * Deno into its own process as a compiled program's runtime starts, so it
 * needs no `execve`. The plan of each backend, and real launches of a small
 * C executable, are covered in `isolator/agent_executable_test.ts`.
 */
import assert from "node:assert/strict";
import { agentPermissionFlags, SANDBOX_LAYOUT } from "../../contract/permissions.ts";
import {
  isolators,
  SANDBOX_AGENT,
  SANDBOX_DENO,
  SANDBOX_ENV,
  SANDBOX_PROGRAM,
  SANDBOX_UID,
} from "../../isolator/mod.ts";
import { runServe } from "../../cli/serve.ts";
import { captureIo } from "../../cli/output.ts";
import { DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { sessionDirs } from "../../src/sandbox/mod.ts";
import {
  buildCompiledStandin,
  canBuildCompiledStandin,
  compiledStandinFlags,
  releaseTarget,
} from "../support/compiled_standin.ts";
import { tempDir } from "../support/mod.ts";
import { diagnose, nextReplies } from "./harness.ts";
import { type E2eHost, openPlane, sharedAgentBundle } from "./plane.ts";
import { answered, sentSession } from "../support/api.ts";

type Backend = "bwrap" | "runsc";

/** Whether `kind` runs here at all (root, installed, its smoke launch of Deno passes). */
async function works(kind: Backend): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  using dir = tempDir(`ironclaw-${kind}-check-`);
  return (await isolators({ stateDir: dir.path })[kind].check()).ok;
}

const canBuild = await canBuildCompiledStandin();
const available: Record<Backend, boolean> = {
  bwrap: canBuild && await works("bwrap"),
  runsc: canBuild && await works("runsc"),
};

/** The paths the sandbox of a bundle holds and a compiled agent's must not: Deno, the bundle, Deno's cache. */
const BUNDLE_ONLY = [SANDBOX_DENO, SANDBOX_PROGRAM, SANDBOX_ENV.DENO_DIR];

/** Builds the stand-in `ironclaw-agent` in `dir/release`, as a release directory holds it. */
async function buildAgent(dir: string): Promise<string> {
  Deno.mkdirSync(`${dir}/release`);
  return await buildCompiledStandin(`${dir}/release`, {
    target: releaseTarget("ironclaw-agent"),
    bundle: await sharedAgentBundle(),
  });
}

/** Asserts the agent's command line: the executable itself with the layout, and no Deno, `run` or flags. */
function assertDirectCommand(command: string[]): void {
  assert.equal(command[0], SANDBOX_AGENT);
  assert.match(command[1], /^--layout=/);
  assert.ok(
    !command.some((a) => a === "run" || a === "--no-prompt" || /^--(allow|deny)-/.test(a)),
    command.join(" "),
  );
}

/** The pids and command lines of this machine's bwrap processes that bind `socketDir` (one session's sandbox). */
function bwrapProcesses(socketDir: string): { pid: number; argv: string[] }[] {
  const found: { pid: number; argv: string[] }[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let argv: string[];
    try {
      argv = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0").slice(0, -1);
    } catch {
      continue; // ended meanwhile
    }
    if (argv[0]?.endsWith("bwrap") && argv.includes(socketDir)) found.push({ pid: Number(entry.name), argv });
  }
  return found.sort((a, b) => a.pid - b.pid);
}

/**
 * The running bwrap sandbox of `sessionId`, as bwrap was told to build it:
 * the executable bound read-only at its fixed path and run directly as the
 * sandbox's uid; no Deno binary, bundle or Deno cache bound in. Returns what
 * identifies that sandbox (its bwrap pids).
 */
async function inspectBwrap(host: E2eHost, sessionId: string, agent: string): Promise<string> {
  const socketDir = sessionDirs(`${host.stateDir}/sandbox`, sessionId, DEMO_AGENT_ID).socketDir;
  // bwrap forks once into the new namespaces, and the child keeps its parent's command line.
  const processes = bwrapProcesses(socketDir);
  assert.ok(processes.length >= 1, await diagnose(host));
  const argv = processes[0].argv;
  for (const { argv: other } of processes) assert.deepEqual(other, argv);
  const bound = argv.flatMap((a, i) =>
    ["--bind", "--ro-bind"].includes(a) ? [[argv[i + 1], argv[i + 2]]] : []
  );
  assert.deepEqual(bound.filter(([, to]) => to === SANDBOX_AGENT), [[agent, SANDBOX_AGENT]]);
  for (const absent of BUNDLE_ONLY) assert.ok(!bound.some(([, to]) => to === absent), `${absent} is bound`);
  assert.ok(argv.includes(`--reuid=${SANDBOX_UID}`));
  assertDirectCommand(argv.slice(argv.lastIndexOf("--") + 1));
  return processes.map((p) => p.pid).join(",");
}

/** Runs `runsc <args>` as the isolator does (root), returning its stdout; fails on a non-zero exit. */
async function runsc(args: string[]): Promise<string> {
  const out = await new Deno.Command("runsc", { args, stdout: "piped", stderr: "piped" }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  if (!out.success) throw new Error(`runsc ${args.join(" ")}: ${decode(out.stderr)}`);
  return decode(out.stdout);
}

/** Every path under `root` (relative, with a leading `/`) and what it is: file size, `dir` or `link`. */
function tree(root: string, under = ""): Map<string, number | "dir" | "link"> {
  const found = new Map<string, number | "dir" | "link">();
  for (const entry of Deno.readDirSync(`${root}${under}`)) {
    const path = `${under}/${entry.name}`;
    if (entry.isSymlink) found.set(path, "link");
    else if (entry.isDirectory) {
      found.set(path, "dir");
      for (const [p, kind] of tree(root, path)) found.set(p, kind);
    } else found.set(path, Deno.lstatSync(`${root}${path}`).size);
  }
  return found;
}

/**
 * The running gVisor sandbox of `sessionId`, read from runsc itself: its
 * live OCI `config.json` runs the executable directly as the sandbox's uid,
 * bound read-only from the release; nothing mounts the host's Deno, the
 * agent bundle or a Deno cache; the rootfs holds only empty mount points
 * (so no Deno binary and no bundle); and the sandbox's one process is the
 * executable, which never exec'd Deno. Returns what identifies that sandbox
 * (the host pid runsc reports for it).
 */
async function inspectRunsc(host: E2eHost, sessionId: string, agent: string): Promise<string> {
  // The isolator keeps runsc's state under the plane's state directory (`--root`).
  const root = ["--root", `${host.stateDir}/isolator/runsc`];
  const id = `ironclaw-${sessionId}`;
  const state = JSON.parse(await runsc([...root, "state", id]));
  assert.equal(state.status, "running", JSON.stringify(state));
  assert.ok(state.pid > 0, JSON.stringify(state));
  const config = JSON.parse(Deno.readTextFileSync(`${state.bundle}/config.json`));
  assertDirectCommand(config.process.args);
  assert.equal(config.process.user.uid, SANDBOX_UID);
  const mounts: { destination: string; source?: string; options?: string[] }[] = config.mounts;
  const agentMounts = mounts.filter((m) => m.destination === SANDBOX_AGENT);
  assert.deepEqual(agentMounts.map((m) => m.source), [agent]);
  assert.ok(agentMounts[0].options?.includes("ro"), JSON.stringify(agentMounts[0]));
  for (const absent of BUNDLE_ONLY) {
    assert.ok(!mounts.some((m) => m.destination === absent), `${absent} is mounted`);
  }
  const hostOnly = new Set([Deno.execPath(), Deno.realPathSync(Deno.execPath()), await sharedAgentBundle()]);
  for (const m of mounts) assert.ok(!hostOnly.has(m.source ?? ""), `${m.destination} mounts ${m.source}`);
  assert.throws(() => Deno.statSync(`${state.bundle}.deno-dir`), Deno.errors.NotFound, "a staged Deno cache");

  const rootfs = `${state.bundle}/${config.root.path}`;
  const files = tree(rootfs);
  assert.equal(files.get(SANDBOX_AGENT), 0, "the executable's mount point, empty");
  for (const absent of BUNDLE_ONLY) assert.ok(!files.has(absent), `${absent} is in the rootfs`);
  const filled = [...files].filter(([, kind]) => typeof kind === "number" && kind > 0);
  assert.deepEqual(filled, [], "the rootfs holds only empty mount points");

  // gVisor's own process table: the executable alone, under its own name; Deno was never exec'd.
  // `runsc ps` prints a table (UID PID PPID C TTY STIME TIME CMD); its JSON form lists pids only.
  const ps = (await runsc([...root, "ps", id])).trim().split("\n");
  assert.match(ps[0], /\sCMD$/, ps.join("\n"));
  assert.deepEqual(
    ps.slice(1).map((line) => line.trim().split(/\s+/).at(-1)),
    ["ironclaw-agent"],
    ps.join("\n"),
  );
  return String(state.pid);
}

const INSPECT: Record<Backend, (host: E2eHost, sessionId: string, agent: string) => Promise<string>> = {
  bwrap: inspectBwrap,
  runsc: inspectRunsc,
};

for (const kind of ["bwrap", "runsc"] as const) {
  Deno.test({
    name:
      `e2e (${kind}, compiled agent): chat send → the agent executable run directly → reply, twice; no Deno in the sandbox`,
    ignore: !available[kind],
    fn: async () => {
      using dir = tempDir(`ironclaw-e2e-exe-${kind}-`);
      const agent = await buildAgent(dir.path);
      // The executable carries exactly the release's flags for the agent, which the contract defines.
      assert.deepEqual(compiledStandinFlags(agent), releaseTarget("ironclaw-agent").flags);
      assert.deepEqual(compiledStandinFlags(agent), agentPermissionFlags(SANDBOX_LAYOUT));
      Deno.mkdirSync(`${dir.path}/state`);
      await using host = await openPlane(`${dir.path}/state`, {
        isolator: kind,
        agentExecutable: agent,
        agentExecutableFrom: "--agent-program",
      });
      assert.equal(host.plane.agentProgram.kind, "executable");
      assert.equal(
        host.plane.agentProgram.description,
        `${agent} (the compiled agent, run directly; --agent-program)`,
      );
      // Choosing the backend smoke-ran the executable itself: the real agent's answer to --version passed.
      const choice = await host.plane.isolator();
      assert.equal(choice.isolator.kind, kind);

      const sent = await answered(host.api.v1.ui.chat.send.$post({
        json: {
          agentGroupId: DEMO_AGENT_ID,
          text: "hello there",
        },
      }));
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      const outcome = sent.body.outcomes[0];
      assert.equal(outcome.wakeError, undefined, outcome.wakeError);
      assert.deepEqual(await nextReplies(host, sent.body.chatId), ["mock-agent received: hello there"]);
      const sessionId = sentSession(sent.body);
      const sandbox = await INSPECT[kind](host, sessionId, agent);

      // The conversation carries on in the same session and the same sandbox.
      const second = await answered(host.api.v1.ui.chat.send.$post({
        json: {
          agentGroupId: DEMO_AGENT_ID,
          text: "and a second one",
          chatId: sent.body.chatId,
        },
      }));
      assert.equal(second.status, 202, JSON.stringify(second.body));
      assert.equal(second.body.outcomes[0].sessionId, sessionId);
      assert.deepEqual(await nextReplies(host, sent.body.chatId), ["mock-agent received: and a second one"]);
      assert.equal(await INSPECT[kind](host, sessionId, agent), sandbox);
    },
  });
}

Deno.test({
  name: "serve --agent-program: the start line names the compiled agent the sandboxes run",
  ignore: !available.bwrap,
  fn: async () => {
    using dir = tempDir("ironclaw-serve-exe-");
    const agent = await buildAgent(dir.path);
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
      agentProgram: agent,
    }, stop.signal);
    await Promise.race([listening, running.then(() => Promise.reject(new Error(io.stderr.join("\n"))))]);
    stop.abort();
    await running;
    assert.ok(
      io.stdout.some((l) => l.startsWith("agents run in: isolator bwrap (namespaces)")),
      io.stdout.join("\n"),
    );
    assert.ok(
      io.stdout.includes(`agent program: ${agent} (the compiled agent, run directly; --agent-program)`),
      io.stdout.join("\n"),
    );
  },
});
