import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import {
  DOORBELL,
  DOORBELL_SOCKET_NAME,
  EGRESS_SOCKET_NAME,
  MCP_SOCKET_NAME,
  MODEL_SOCKET_NAME,
} from "../../contract/sockets.ts";
import { HostFixture } from "../../tests/support/host.ts";
import { GuardedWaker, RespawnBackoff } from "../wake/mod.ts";
import { LIBRARY, tempDir } from "../../tests/support/mod.ts";
import { SandboxManager } from "./manager.ts";
import { groupVolumeDirs } from "./session_dirs.ts";
import { imageMountedAt, mountsAt, volumesUnavailable } from "../../isolator/mod.ts";
import { FakeIsolator } from "../../tests/support/fake_isolator.ts";

/** Records which sessions have a model socket open. */
class FakeProxy {
  readonly open = new Map<SessionId, string>();
  openSession(sessionId: SessionId, socketPath: string): Promise<void> {
    this.open.set(sessionId, socketPath);
    return Promise.resolve();
  }
  closeSession(sessionId: SessionId): Promise<void> {
    this.open.delete(sessionId);
    return Promise.resolve();
  }
}

/** Records which sessions a broker serves, with their agent group and socket. */
class FakeBroker {
  readonly open = new Map<SessionId, { agentGroupId: string; socketPath: string }>();
  openSession(sessionId: SessionId, at: { agentGroupId: string; socketPath: string }): Promise<void> {
    this.open.set(sessionId, at);
    return Promise.resolve();
  }
  closeSession(sessionId: SessionId): Promise<void> {
    this.open.delete(sessionId);
    return Promise.resolve();
  }
}

/** One session per chat: each chat wired and sent a message. */
async function sessionsOfChats(host: HostFixture, chats: string[]): Promise<SessionId[]> {
  const sessions: SessionId[] = [];
  for (const chat of chats) {
    host.seedChat("fake", chat);
    const routed = await host.router.route({
      channelType: "fake",
      platformId: chat,
      senderHandle: "alice",
      text: "hi",
    });
    sessions.push(routed.outcomes[0].sessionId!);
  }
  return sessions;
}

/** A manager's deps over `host` with `isolator`, plain directories (no volumes) and fakes for the sockets. */
function bareDeps(host: HostFixture, dir: string, isolator: FakeIsolator) {
  return {
    registry: host.registry,
    queues: host.queues,
    isolator: () => Promise.resolve(isolator),
    proxy: new FakeProxy(),
    onOutbound: () => {},
    root: `${dir}/sandbox`,
    library: LIBRARY,
    program: () => Promise.resolve(`${dir}/agent.js`),
    defaultProvider: "mock" as const,
    volumes: false as const,
  };
}

async function setup(dir: string) {
  const host = await HostFixture.open(dir);
  host.seedChat();
  const routed = await host.router.route({
    channelType: "fake",
    platformId: "C1",
    senderHandle: "alice",
    text: "hi",
  });
  const sessionId = routed.outcomes[0].sessionId!;
  const isolator = new FakeIsolator();
  const proxy = new FakeProxy();
  const egress = new FakeBroker();
  const mcp = new FakeBroker();
  const outbound: SessionId[] = [];
  const exits: SessionId[] = [];
  const manager = new SandboxManager({
    registry: host.registry,
    queues: host.queues,
    isolator: () => Promise.resolve(isolator),
    proxy,
    egress,
    mcp,
    onOutbound: (sid) => outbound.push(sid),
    onExit: (sid) => exits.push(sid),
    root: `${dir}/sandbox`,
    library: LIBRARY,
    program: () => Promise.resolve(`${dir}/agent.js`),
    defaultProvider: "mock",
    pollMs: 100,
  });
  return {
    host,
    sessionId,
    isolator,
    proxy,
    egress,
    mcp,
    outbound,
    exits,
    manager,
    async [Symbol.asyncDispose]() {
      await manager.close();
      await host[Symbol.asyncDispose]();
    },
  };
}

Deno.test("launch: queues, key, model socket and doorbell are ready, and the spec comes from the registry", async () => {
  using dir = tempDir();
  await using t = await setup(dir.path);
  t.host.registry.setPersonaDocs("g1", { soul: "calm" });
  t.host.registry.setEnabledTools("g1", ["read_file"]);
  assert.equal(await t.manager.isRunning(t.sessionId), false);
  await t.manager.launch(t.sessionId);
  assert.ok(await t.manager.isRunning(t.sessionId));
  const [handle] = t.isolator.launches;
  const { spec } = handle;
  const paths = t.host.queues.paths(t.sessionId);
  assert.equal(spec.sessionId, t.sessionId);
  assert.equal(spec.inboundDir, paths.inboundDir);
  assert.equal(spec.outboundDir, paths.outboundDir);
  assert.ok("bytes" in spec.key);
  assert.deepEqual(spec.key.bytes, await t.host.queues.sessionKey(t.sessionId));
  assert.equal(spec.program, `${dir.path}/agent.js`);
  assert.ok(spec.args?.includes("--provider=mock"));
  assert.ok(spec.args?.some((a) => a.startsWith("--persona=") && a.includes("calm")));
  assert.ok(spec.args?.some((a) => a.startsWith("--enabled-tools=read_file,")));
  // The heartbeat is the agent's bookkeeping: beside its outbound queue, not in the user's workspace.
  assert.equal(t.manager.heartbeatPath(t.sessionId), `${spec.outboundDir}/heartbeat`);
  // The group's workspace and memory are size-limited volumes where the host can mount them.
  const group = groupVolumeDirs(`${dir.path}/sandbox`, "g1");
  const quota = volumesUnavailable() === undefined;
  assert.equal(spec.workspaceDir, `${group.workspaceMount}/${t.sessionId}`);
  assert.equal(spec.memoryDir, group.memoryMount);
  assert.equal(imageMountedAt(group.workspaceImage, Deno.realPathSync(group.workspaceMount)), quota);
  assert.equal(imageMountedAt(group.memoryImage, Deno.realPathSync(group.memoryMount)), quota);
  assert.equal(t.proxy.open.get(t.sessionId), `${spec.socketDir}/${MODEL_SOCKET_NAME}`);
  assert.ok(Deno.statSync(`${spec.socketDir}/${DOORBELL_SOCKET_NAME}`).isSocket);
  // Each broker serves the session in its socket directory, knowing its agent group from the socket.
  for (const [broker, name] of [[t.egress, EGRESS_SOCKET_NAME], [t.mcp, MCP_SOCKET_NAME]] as const) {
    assert.deepEqual(broker.open.get(t.sessionId), {
      agentGroupId: "g1",
      socketPath: `${spec.socketDir}/${name}`,
    });
  }
  assert.deepEqual(t.manager.sessions("g1"), [t.sessionId]);
  assert.deepEqual(t.manager.sessions("other"), []);

  // A second launch of a live sandbox is a no-op.
  await t.manager.launch(t.sessionId);
  assert.equal(t.isolator.launches.length, 1);

  await t.manager.stop(t.sessionId);
  assert.ok(handle.stopped);
  assert.equal(await t.manager.isRunning(t.sessionId), false);
  assert.equal(t.proxy.open.size, 0);
  assert.equal(t.egress.open.size + t.mcp.open.size, 0);
  assert.throws(() => Deno.statSync(`${spec.socketDir}/${DOORBELL_SOCKET_NAME}`), Deno.errors.NotFound);
  assert.deepEqual(t.exits, [], "a stop is not an exit on its own");
  await t.manager.close();
  assert.equal(mountsAt(Deno.realPathSync(group.workspaceMount)).length, 0, "closing unmounts");
  assert.equal(mountsAt(Deno.realPathSync(group.memoryMount)).length, 0, "closing unmounts");
});

Deno.test("the doorbell carries rings both ways: ring() to the agent, the agent's ring to onOutbound", async () => {
  using dir = tempDir();
  await using t = await setup(dir.path);
  await t.manager.launch(t.sessionId);
  const { socketDir } = t.isolator.launches[0].spec;
  const conn = await Deno.connect({ transport: "unix", path: `${socketDir}/${DOORBELL_SOCKET_NAME}` });
  try {
    // The host writes only to connected agents: ring until our connection is accepted and served.
    const buffer = new Uint8Array(1);
    const read = conn.read(buffer);
    let got: number | null = null;
    read.then((n) => got = n);
    while (got === null) {
      t.manager.ring(t.sessionId);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(buffer[0], DOORBELL.inbound);
    await conn.write(new Uint8Array([DOORBELL.outbound]));
    while (t.outbound.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(t.outbound, [t.sessionId]);
  } finally {
    conn.close();
  }
});

Deno.test("a sandbox that ends on its own is reported once and relaunched by the next launch", async () => {
  using dir = tempDir();
  await using t = await setup(dir.path);
  await t.manager.launch(t.sessionId);
  t.isolator.launches[0].crash(1);
  await t.isolator.launches[0].exited;
  // The manager tidies the session (sockets, lease) before it reports the exit: wait for the report.
  for (let i = 0; i < 400 && t.exits.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.deepEqual(t.exits, [t.sessionId]);
  assert.equal(await t.manager.isRunning(t.sessionId), false);
  await t.manager.launch(t.sessionId);
  assert.equal(t.isolator.launches.length, 2);
  assert.ok(await t.manager.isRunning(t.sessionId));
});

Deno.test("a failed launch leaves no socket open behind it", async () => {
  using dir = tempDir();
  await using t = await setup(dir.path);
  t.isolator.failWith = new Error("no runtime");
  await assert.rejects(t.manager.launch(t.sessionId), /no runtime/);
  assert.equal(t.proxy.open.size, 0);
  assert.equal(await t.manager.isRunning(t.sessionId), false);
  assert.deepEqual(t.manager.sessions(), []);
  t.isolator.failWith = undefined;
  await t.manager.launch(t.sessionId);
  assert.ok(await t.manager.isRunning(t.sessionId));
});

Deno.test("respawnGroup restarts the group's running sandboxes with the new spec, not as failures", async () => {
  using dir = tempDir();
  await using t = await setup(dir.path);
  const backoff = new RespawnBackoff();
  const waker = new GuardedWaker({
    control: t.manager,
    backoff,
    registry: t.host.registry,
    autoRetry: false,
  });
  await waker.wake(t.sessionId);
  t.host.registry.setPersonaDocs("g1", { soul: "after the change" });
  assert.equal(await t.manager.respawnGroup("g1", waker), 1);
  const [first, second] = t.isolator.of(t.sessionId);
  assert.ok(first.stopped);
  assert.ok(second.spec.args?.some((a) => a.includes("after the change")));
  assert.ok(await t.manager.isRunning(t.sessionId));
  assert.equal(backoff.failures(t.sessionId), 0);
  assert.equal(t.host.registry.getSession(t.sessionId).containerStatus, "running");
  assert.equal(await t.manager.respawnGroup("other", waker), 0);
  waker.close();
});

Deno.test("under gVisor, starts beyond the limit wait until an agent is up, its sandbox ends, or the cap passes", async () => {
  using dir = tempDir();
  const host = await HostFixture.open(dir.path);
  const sessions = await sessionsOfChats(host, ["C1", "C2", "C3", "C4", "C5"]);
  const isolator = new FakeIsolator("gvisor");
  const manager = new SandboxManager({
    ...bareDeps(host, dir.path, isolator),
    startSlots: 2,
    startSlotCapMs: 1_000,
  });
  const launched = () => isolator.launches.length;
  const until = async (count: number) => {
    for (const deadline = Date.now() + 10_000; launched() < count;) {
      if (Date.now() > deadline) assert.fail(`${launched()} launched, waiting for ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  try {
    const starts = sessions.map((sessionId) => manager.launch(sessionId));
    await until(2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(launched(), 2, "two start, the others wait");
    const [first, second] = isolator.launches;

    // The first one's agent asks for its queue lease: it is up, and the next start goes.
    host.queues.lease(first.sessionId as SessionId).request(() => {}).release();
    await until(3);

    // The second one's sandbox ends before its agent came up: its slot comes back too.
    second.crash();
    await until(4);

    // Nobody comes up: only the cap (1 s after the third and fourth started) lets the last one go.
    assert.equal(launched(), 4, "not before the cap");
    await Promise.all(starts);
    assert.equal(launched(), 5);
    assert.deepEqual(new Set(isolator.launches.map((h) => h.sessionId)), new Set(sessions));
  } finally {
    await manager.close();
    await host[Symbol.asyncDispose]();
  }
});

Deno.test("starts are not limited outside gVisor, and a stopped start gives its slot back", async () => {
  using dir = tempDir();
  const host = await HostFixture.open(dir.path);
  const sessions = await sessionsOfChats(host, ["C1", "C2", "C3"]);
  const deps = {
    registry: host.registry,
    queues: host.queues,
    proxy: new FakeProxy(),
    onOutbound: () => {},
    root: `${dir.path}/sandbox`,
    library: LIBRARY,
    program: () => Promise.resolve(`${dir.path}/agent.js`),
    defaultProvider: "mock" as const,
    volumes: false as const,
    startSlots: 1,
    startSlotCapMs: 60_000,
  };
  const namespaces = new FakeIsolator("namespaces");
  const plain = new SandboxManager({ ...deps, isolator: () => Promise.resolve(namespaces) });
  const gvisor = new FakeIsolator("gvisor");
  const limited = new SandboxManager({
    ...deps,
    root: `${dir.path}/sandbox-2`,
    isolator: () => Promise.resolve(gvisor),
  });
  try {
    await Promise.all(sessions.map((sessionId) => plain.launch(sessionId)));
    assert.equal(namespaces.launches.length, 3);
    await plain.close();

    await limited.launch(sessions[0]);
    const second = limited.launch(sessions[1]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(gvisor.launches.length, 1);
    await limited.stop(sessions[0]);
    await second;
    assert.equal(gvisor.launches.length, 2);
  } finally {
    await plain.close();
    await limited.close();
    await host[Symbol.asyncDispose]();
  }
});

Deno.test("at --max-sandboxes a launch stops the least recently used idle sandbox; its next message wakes it", async () => {
  using dir = tempDir();
  const host = await HostFixture.open(dir.path);
  // One session per chat, each with its "hi" answered (completed): idle.
  const sessions: SessionId[] = [];
  for (const chat of ["C1", "C2", "C3"]) {
    host.seedChat("fake", chat);
    const routed = await host.router.route({
      channelType: "fake",
      platformId: chat,
      senderHandle: "alice",
      text: "hi",
    });
    const { sessionId, messageId } = routed.outcomes[0];
    await host.queues.advanceStatuses(sessionId!, [{ messageId: messageId!, status: "completed" }]);
    sessions.push(sessionId!);
  }
  const isolator = new FakeIsolator();
  const evicted: SessionId[] = [];
  const manager = new SandboxManager({
    ...bareDeps(host, dir.path, isolator),
    maxSandboxes: 2,
    evict: async (sessionId) => {
      evicted.push(sessionId);
      await manager.stop(sessionId);
    },
  });
  try {
    const [s1, s2, s3] = sessions;
    await manager.launch(s1);
    await manager.launch(s2);
    // s1 is the least recently used, but a message waits for it: s2 is stopped instead.
    await host.router.route({ channelType: "fake", platformId: "C1", senderHandle: "alice", text: "again" });
    await manager.launch(s3);
    assert.deepEqual(evicted, [s2]);
    assert.deepEqual(manager.sessions().sort(), [s1, s3].sort());
    assert.ok(isolator.of(s2)[0].stopped);
    // Its queue is untouched, and the next message for it launches it again (stopping the idle s3).
    await host.router.route({ channelType: "fake", platformId: "C2", senderHandle: "alice", text: "back" });
    await manager.launch(s2);
    assert.deepEqual(evicted, [s2, s3]);
    assert.equal(isolator.of(s2).length, 2);
    assert.ok(await host.queues.hasOpenWork(s2));
  } finally {
    await manager.close();
    await host[Symbol.asyncDispose]();
  }
});

Deno.test("close stops the sandboxes several at a time, not one after another, and every one of them", async () => {
  using dir = tempDir();
  const host = await HostFixture.open(dir.path);
  const sessions = await sessionsOfChats(host, Array.from({ length: 12 }, (_, i) => `C${i}`));
  const isolator = new FakeIsolator();
  const manager = new SandboxManager(bareDeps(host, dir.path, isolator));
  try {
    for (const sessionId of sessions) await manager.launch(sessionId);
    let stopping = 0;
    let most = 0;
    for (const handle of isolator.launches) {
      const stop = handle.stop;
      // A runtime stop takes a while (runsc kill and delete).
      Object.assign(handle, {
        stop: async () => {
          most = Math.max(most, ++stopping);
          await new Promise((resolve) => setTimeout(resolve, 20));
          stopping--;
          await stop();
        },
      });
    }
    await manager.close();
    assert.ok(most > 1 && most < sessions.length, `stops at once: ${most} (bounded, in parallel)`);
    assert.ok(isolator.launches.every((h) => h.stopped));
    assert.deepEqual(manager.sessions(), []);
  } finally {
    await manager.close();
    await host[Symbol.asyncDispose]();
  }
});
