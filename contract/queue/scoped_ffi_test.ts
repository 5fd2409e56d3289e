/**
 * The sandbox's queue role works under exactly the agent's permission flags,
 * whose `--allow-ffi` is scoped to libsqlcipher, and its runtime flags
 * (V8 lite mode among them). Deno refuses pointer operations under a scoped
 * FFI grant, so this guards the binding against ever needing them again.
 */
import assert from "node:assert/strict";
import { sessionKeyHex } from "../cipher.ts";
import { AGENT_RUNTIME_FLAGS, agentPermissionFlags } from "../permissions.ts";
import { openInboundWriter, openOutboundReader, provisionSession } from "./host.ts";
import { fixedKey, LIBRARY, tempDir } from "../../tests/support/mod.ts";

const CHILD = new URL("./testdata/sandbox_role.ts", import.meta.url).pathname;

Deno.test("the sandbox queue role reads inbound and writes outbound under the agent's scoped flags", () => {
  using dir = tempDir();
  const key = fixedKey(0x11);
  const opts = { library: LIBRARY, key };
  const paths = provisionSession(dir.path, "s1", opts);
  {
    using w = openInboundWriter(paths.inbound, opts);
    w.writeMessageIn({ id: "m1", kind: "chat", content: "héllo" });
    w.writeMessageIn({ id: "m2", kind: "chat", content: "x".repeat(10_000) });
    w.syncTasks([{ id: "t1", prompt: "p", nextRun: null, recurrence: null, state: "active" }]);
  }
  const keyFile = `${dir.path}/session.key`;
  Deno.writeTextFileSync(keyFile, sessionKeyHex(key));
  for (const d of ["ws", "mem", "sock"]) Deno.mkdirSync(`${dir.path}/${d}`);
  const flags = agentPermissionFlags({
    inboundDir: paths.inboundDir,
    outboundDir: paths.outboundDir,
    keyFile,
    workspace: `${dir.path}/ws`,
    memory: `${dir.path}/mem`,
    socketDir: `${dir.path}/sock`,
    library: LIBRARY,
  });
  assert.ok(flags.includes(`--allow-ffi=${LIBRARY}`));

  const out = new Deno.Command(Deno.execPath(), {
    args: ["run", ...AGENT_RUNTIME_FLAGS, ...flags, CHILD, paths.inbound, paths.outbound, keyFile, LIBRARY],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const report = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(report.read, ["héllo", "x".repeat(10_000)]);
  assert.deepEqual(report.tasks, ["t1"]);
  assert.equal(report.seq % 2, 1);
  assert.deepEqual(report.state, { seen: "2" });
  assert.equal(
    report.pointerOps,
    "NotCapable",
    "the flags no longer scope FFI; this test then proves nothing",
  );

  using r = openOutboundReader(paths.outbound, opts);
  const due = r.dueMessages();
  assert.deepEqual(due.messages.map((m) => m.content), [`echo héllo,${"x".repeat(10_000)}`]);
  assert.deepEqual(due.invalid, []);
});

Deno.test("the agent's runtime flags grant nothing: no permission flag hides among them", () => {
  for (const flag of AGENT_RUNTIME_FLAGS) {
    assert.doesNotMatch(
      flag,
      /^-A$|^--(allow|deny)-|^--unsafely|^--unstable|^--(no-)?prompt|^--inspect/,
      flag,
    );
  }
});
