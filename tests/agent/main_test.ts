/**
 * The real agent program (`ENTRYPOINTS.agent`), bundled the way the isolator
 * runs it, under exactly the contract's agent flags: the process backend
 * launches it against the host's model proxy (mock upstream), doorbell and
 * queue lease.
 * This also proves every npm dependency the agent loads survives
 * `--deny-env` and the scoped `--allow-ffi`.
 */
import assert from "node:assert/strict";
import { sessionKeyHex } from "../../contract/cipher.ts";
import { QUEUE_FILES } from "../../contract/schema.ts";
import type { SessionId } from "../../contract/ids.ts";
import { AGENT_RUNTIME_FLAGS, agentPermissionFlags, ENTRYPOINTS } from "../../contract/permissions.ts";
import { DOORBELL_SOCKET_NAME, LEASE_SOCKET_NAME, MODEL_SOCKET_NAME } from "../../contract/sockets.ts";
import { ProcessIsolator } from "../../isolator/mod.ts";
import { Doorbell, LeaseServer } from "../../src/doorbell/mod.ts";
import { ModelProxy } from "../../src/model_proxy/mod.ts";
import { QueueLease } from "../../src/session/mod.ts";
import { awaitReply, bundledProgram, probeSession, writeInbound } from "../support/isolator_harness.ts";
import { fixedKey, LIBRARY } from "../support/mod.ts";

const MAIN = new URL(`../../${ENTRYPOINTS.agent}`, import.meta.url).pathname;

Deno.test("the agent program answers a chat row through the host's mock model, under the agent's flags", async () => {
  await using session = await probeSession("ses_main", await bundledProgram(MAIN));
  const proxy = new ModelProxy({ credentials: () => undefined });
  await proxy.openSession("ses_main" as SessionId, `${session.spec.socketDir}/${MODEL_SOCKET_NAME}`);
  let outboundRings = 0;
  const bell = new Doorbell(`${session.spec.socketDir}/${DOORBELL_SOCKET_NAME}`, {
    onOutbound: () => outboundRings++,
    lease: new QueueLease(),
  });
  await bell.start();
  const isolator = new ProcessIsolator({ stateDir: `${session.root}/state` });
  const handle = await isolator.launch({ ...session.spec, args: ["--provider=mock", "--poll-ms=100"] });
  try {
    const first = writeInbound(session, "hello there");
    bell.ring();
    assert.equal((await awaitReply(session, handle, first)).content, "mock-agent received: hello there");
    // A second row, while the agent is running, is answered too (with the first exchange as history).
    const second = writeInbound(session, "and again");
    bell.ring();
    assert.equal((await awaitReply(session, handle, second)).content, "mock-agent received: and again");
    assert.ok(outboundRings > 0, "the agent rings the host after writing");
    // The agent's bookkeeping stays out of the user's workspace: its heartbeat is beside its outbound queue.
    assert.deepEqual([...Deno.readDirSync(session.spec.workspaceDir)].map((e) => e.name), []);
    assert.ok(Deno.statSync(`${session.spec.outboundDir}/${QUEUE_FILES.heartbeat}`).isFile);
  } finally {
    await handle.stop();
    await bell.close();
    await proxy.close();
  }
  const log = await Deno.readTextFile(handle.logPath);
  assert.match(log, /"event":"agent.started"/);
  assert.doesNotMatch(log, /NotCapable|PermissionDenied|lease\.unavailable/, log);
});

/** Runs the source entrypoint under the agent's flags with `layout` and returns its exit code and stderr. */
async function runMain(layout: Parameters<typeof agentPermissionFlags>[0], extra: string[] = []) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...AGENT_RUNTIME_FLAGS,
      ...agentPermissionFlags(layout),
      MAIN,
      `--layout=${JSON.stringify(layout)}`,
      ...extra,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr).trim() };
}

Deno.test("a missing or bad key, a missing queue and a bad flag each stop the agent with one clear line", async () => {
  await using session = await probeSession("ses_bad");
  const keyFile = `${session.root}/session.key`;
  const layout = {
    inboundDir: session.paths.inboundDir,
    outboundDir: session.paths.outboundDir,
    keyFile,
    workspace: session.spec.workspaceDir,
    memory: session.spec.memoryDir,
    socketDir: session.spec.socketDir,
    library: LIBRARY,
  };
  // The host's lease is there, as in production: the agent's only stderr line is the failure.
  const lease = new QueueLease();
  const server = new LeaseServer(`${session.spec.socketDir}/${LEASE_SOCKET_NAME}`, lease);
  await server.start();
  const expectOneLine = async (pattern: RegExp, extra: string[] = [], at = layout) => {
    const { code, stderr } = await runMain(at, extra);
    assert.equal(code, 2, stderr);
    assert.equal(stderr.split("\n").length, 1, stderr);
    assert.match(stderr, pattern);
  };

  await expectOneLine(/^ironclaw-agent: cannot read the session key .*session\.key: /);
  Deno.writeTextFileSync(keyFile, "not a key");
  await expectOneLine(/^ironclaw-agent: bad session key .*: a session key file holds 64 hex characters/);
  Deno.writeTextFileSync(keyFile, sessionKeyHex(fixedKey(0x22)));
  await expectOneLine(/^ironclaw-agent: cannot open the outbound queue: .*(key|not a database)/i);
  Deno.writeTextFileSync(keyFile, sessionKeyHex(fixedKey(0x11)));
  Deno.removeSync(session.paths.inbound);
  await expectOneLine(/^ironclaw-agent: cannot open the inbound queue: /);
  await expectOneLine(/^ironclaw-agent: unknown provider "nope"/, ["--provider=nope"]);
  await expectOneLine(/^ironclaw-agent: --layout: keyFile: must be an absolute path/, [], {
    ...layout,
    keyFile: "relative.key",
  });
  await server.close();
  lease.dispose();
});
