import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { sessionKeyHex } from "../../contract/cipher.ts";
import {
  CLAIM_SOCKET_NAME,
  DOORBELL,
  DOORBELL_SOCKET_NAME,
  MODEL_SOCKET_NAME,
} from "../../contract/sockets.ts";
import { HostFixture } from "../../tests/support/host.ts";
import { LIBRARY, tempDir } from "../../tests/support/mod.ts";
import { FakeHandle, FakeIsolator } from "../../tests/support/fake_isolator.ts";
import type { MountPolicy } from "../mounts/mod.ts";
import { LaunchMountError } from "./launch_mounts.ts";
import { SandboxManager } from "./manager.ts";
import { sessionDirs } from "./session_dirs.ts";
import { SparePool } from "./spare_pool.ts";
import { recordSpareDirs, recoverSpares } from "./spares.ts";

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

/** A host with two chats of group g1 (one session each) and a manager keeping one warm spare per group. */
async function setup(dir: string, options: { mounts?: MountPolicy } = {}) {
  const host = await HostFixture.open(dir);
  const sessions: SessionId[] = [];
  for (const chat of ["C1", "C2"]) {
    host.seedChat("fake", chat);
    const routed = await host.router.route({
      channelType: "fake",
      platformId: chat,
      senderHandle: "alice",
      text: "hi",
    });
    sessions.push(routed.outcomes[0].sessionId!);
  }
  // A backend that binds directories: the manager boots spares only for those.
  const isolator = new FakeIsolator("namespaces", "bwrap");
  const proxy = new FakeProxy();
  const manager = new SandboxManager({
    registry: host.registry,
    queues: host.queues,
    isolator: () => Promise.resolve(isolator),
    proxy,
    onOutbound: () => {},
    root: `${dir}/sandbox`,
    library: LIBRARY,
    program: () => Promise.resolve(`${dir}/agent.js`),
    defaultProvider: "mock",
    warmSpares: 1,
    // Plain directories: this host's queue store keeps outbound queues in place, not on an outbox volume.
    volumes: false,
    startSlotCapMs: 2_000,
    mounts: options.mounts,
  });
  return {
    host,
    sessions,
    isolator,
    proxy,
    manager,
    /** Rings the host as session `sessionId`'s agent does after its first reply (the group's next spare boots then). */
    async answer(sessionId: SessionId): Promise<void> {
      const { socketDir } = sessionDirs(`${dir}/sandbox`, sessionId, "g1");
      const conn = await Deno.connect({ transport: "unix", path: `${socketDir}/${DOORBELL_SOCKET_NAME}` });
      await conn.write(Uint8Array.of(DOORBELL.outbound));
      conn.close();
    },
    /** The next spare the manager boots, once it waits in the pool. */
    async nextSpare(): Promise<FakeHandle> {
      for (let i = 0; i < 200; i++) {
        const spare = isolator.launches.findLast((h) => h.spec.sessionId.startsWith("spare-") && !h.stopped);
        if (spare && manager.spareCount("g1") > 0) return spare;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error("no spare was booted");
    },
    async [Symbol.asyncDispose]() {
      await manager.close();
      await host[Symbol.asyncDispose]();
    },
  };
}

const ino = (path: string) => Deno.statSync(path).ino;

/** Reads the one line the host hands a spare on its claim socket. */
async function readClaim(conn: Deno.UnixConn): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(128);
  for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
    chunks.push(buffer.slice(0, n));
  }
  conn.close();
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
}

Deno.test("a warm spare boots with no key and empty directories, and a claim hands it only its session's key and files", async () => {
  using dir = tempDir();
  await using t = await setup(dir.path);
  const [a, b] = t.sessions;
  await t.manager.launch(a);
  assert.equal(t.isolator.launches[0].spec.sessionId, a, "the group's first launch is cold");
  // The group's spare boots once a has answered, not while its first turn runs.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(t.isolator.launches.length, 1, "no spare boots during a's first turn");
  await t.answer(a);

  const spare = await t.nextSpare();
  const { spec } = spare;
  assert.deepEqual(spec.key, { none: true }, "no session key");
  assert.ok(spec.args?.includes("--spare=1"));
  for (const d of [spec.inboundDir, spec.outboundDir, spec.workspaceDir]) {
    assert.deepEqual([...Deno.readDirSync(d)], [], `${d} holds nothing of any conversation`);
  }
  assert.deepEqual([...Deno.readDirSync(spec.socketDir)].map((e) => e.name), [CLAIM_SOCKET_NAME]);
  const bound = {
    inbound: ino(spec.inboundDir),
    workspace: ino(spec.workspaceDir),
    sockets: ino(spec.socketDir),
  };
  assert.deepEqual(t.manager.sessions(), [a], "a spare is no session's sandbox");

  // The spare's agent waits on its claim socket.
  const agent = await Deno.connect({ transport: "unix", path: `${spec.socketDir}/${CLAIM_SOCKET_NAME}` });
  await t.manager.launch(b);
  assert.equal(t.isolator.of(b).length, 0, "b was not launched cold");
  assert.equal(t.manager.logPath(b), spare.logPath, "b runs in the spare");
  const line = await readClaim(agent);
  assert.equal(line, `${sessionKeyHex(await t.host.queues.sessionKey(b))}\n`, "b's key");
  assert.notEqual(line.trim(), sessionKeyHex(await t.host.queues.sessionKey(a)));

  // What the spare has bound is now b's: its queues, its workspace, its sockets; a's are untouched.
  const paths = t.host.queues.paths(b);
  const dirs = sessionDirs(`${dir.path}/sandbox`, b, "g1");
  assert.equal(ino(paths.inboundDir), bound.inbound);
  assert.ok(Deno.statSync(paths.inbound).isFile);
  assert.equal(ino(dirs.workspaceDir), bound.workspace);
  assert.equal(ino(dirs.socketDir), bound.sockets);
  assert.equal(t.proxy.open.get(b), `${dirs.socketDir}/${MODEL_SOCKET_NAME}`);
  assert.notEqual(ino(t.host.queues.paths(a).inboundDir), bound.inbound);
  assert.throws(() => Deno.statSync(spec.inboundDir), Deno.errors.NotFound, "the spare's own names are gone");

  // Never back to the pool: the next spare is a new sandbox.
  await t.answer(b);
  const next = await t.nextSpare();
  assert.notEqual(next.spec.sessionId, spec.sessionId);
  await t.manager.stop(b);
  assert.ok(spare.stopped);
});

Deno.test("a group change discards its spares, and a spare of an older spec is never handed out", async () => {
  using dir = tempDir();
  await using t = await setup(dir.path);
  const [a, b] = t.sessions;
  await t.manager.launch(a);
  await t.answer(a);
  const first = await t.nextSpare();

  t.host.registry.setPersonaDocs("g1", { soul: "changed" });
  await t.manager.respawnGroup("g1", {
    stop: (id) => t.manager.stop(id),
    wake: (id) => t.manager.launch(id),
  });
  assert.ok(first.stopped, "the change let the spare go");
  assert.throws(
    () => Deno.statSync(first.spec.workspaceDir),
    Deno.errors.NotFound,
    "and removed its directories",
  );
  await t.answer(a);
  const second = await t.nextSpare();
  assert.ok(second.spec.args?.some((arg) => arg.includes("changed")), "the next spare has the new spec");

  // Changed again, with no respawn: the waiting spare is stale, and b starts cold.
  t.host.registry.setPersonaDocs("g1", { soul: "again" });
  await t.manager.launch(b);
  assert.ok(second.stopped);
  assert.equal(t.isolator.of(b).length, 1, "b was launched cold");
  assert.ok(t.isolator.of(b)[0].spec.args?.some((arg) => arg.includes("again")));
});

Deno.test("a spare binds the group's mounts at boot; one moved out since then refuses the claim and the cold start", async () => {
  using dir = tempDir();
  const shared = `${dir.path}/shared`;
  Deno.mkdirSync(`${shared}/docs`, { recursive: true });
  Deno.mkdirSync(`${dir.path}/elsewhere`);
  await using t = await setup(dir.path, { mounts: { allowedSourcePrefixes: [shared] } });
  const [a, b] = t.sessions;
  t.host.registry.setMounts("g1", [{ name: "docs", source: `${shared}/docs` }]);
  await t.manager.launch(a);
  await t.answer(a);
  const spare = await t.nextSpare();
  assert.deepEqual(spare.spec.mounts, [{
    name: "docs",
    source: Deno.realPathSync(`${shared}/docs`),
    readonly: true,
  }]);
  Deno.removeSync(`${shared}/docs`);
  Deno.symlinkSync(`${dir.path}/elsewhere`, `${shared}/docs`);
  await assert.rejects(() => t.manager.launch(b), LaunchMountError);
  assert.ok(spare.stopped, "the spare was let go, not handed out");
  assert.equal(t.isolator.of(b).length, 0, "and nothing was launched with the moved directory");
});

Deno.test("a spare whose directories hold anything is not handed out: the session starts cold", async () => {
  using dir = tempDir();
  await using t = await setup(dir.path);
  const [a, b] = t.sessions;
  await t.manager.launch(a);
  await t.answer(a);
  const spare = await t.nextSpare();
  Deno.writeTextFileSync(`${spare.spec.workspaceDir}/left-for-the-next`, "x");
  // Its agent waits on its claim socket (it judged nothing it left): the claim looks at its directories then.
  const agent = await Deno.connect({
    transport: "unix",
    path: `${spare.spec.socketDir}/${CLAIM_SOCKET_NAME}`,
  });
  await t.manager.launch(b);
  agent.close();
  assert.ok(spare.stopped);
  assert.equal(t.isolator.of(b).length, 1);
  assert.throws(() =>
    Deno.statSync(`${sessionDirs(`${dir.path}/sandbox`, b, "g1").workspaceDir}/left-for-the-next`)
  );
});

Deno.test("a spare that dies or fails to boot is replaced after a delay that doubles, never in a loop", async () => {
  const delays: number[] = [];
  const boots: { exit: () => void }[] = [];
  let failBoot = false;
  const pool = new SparePool({
    perGroup: 1,
    retryBaseMs: 5,
    boot: (agentGroupId) => {
      if (failBoot) return Promise.reject(new Error("no runtime"));
      const { promise: exited, resolve } = Promise.withResolvers<void>();
      boots.push({ exit: resolve });
      return Promise.resolve({ agentGroupId, fingerprint: "v1", exited });
    },
    discard: () => Promise.resolve(),
    room: () => true,
    fingerprint: () => "v1",
    onFailure: (_group, _error, retryInMs) => delays.push(retryInMs),
  });
  const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    pool.traffic("g");
    await settle(1);
    assert.equal(pool.waiting("g"), 1);
    boots[0].exit();
    await settle(1);
    assert.deepEqual([pool.waiting("g"), boots.length], [0, 1], "not replaced at once");
    await settle(30);
    assert.deepEqual([pool.waiting("g"), boots.length], [1, 2], "replaced after the delay");
    failBoot = true;
    boots[1].exit();
    await settle(200);
    assert.deepEqual(delays.slice(0, 3), [5, 10, 20], "each failure in a row doubles the delay");
    assert.ok(delays.length < 8, `no loop: ${delays.length} retries in 200 ms`);
    failBoot = false;
    pool.served("g");
    assert.equal(pool.take("g", "v0"), undefined, "a spare of another spec is never handed out");
  } finally {
    await pool.close();
  }
});

Deno.test("a claim a dead host left half done is finished at the next start; an unclaimed spare's directories go", () => {
  using dir = tempDir();
  const root = dir.path;
  const make = (path: string, files: string[] = []) => {
    Deno.mkdirSync(path, { recursive: true });
    for (const f of files) Deno.writeTextFileSync(`${path}/${f}`, f);
  };
  // Claimed: the record written, inbound moved and renamed, the workspace's first file moved, then the crash.
  const claimed = {
    home: `${root}/sessions/.spare-1`,
    inboundDir: `${root}/sessions/.spare-1/in`,
    outboundDir: `${root}/sessions/.spare-1/out`,
    workspaceDir: `${root}/ws/.spare-1`,
    memoryDir: `${root}/memory`,
    socketDir: `${root}/run/.spare-1`,
    ownMemory: false,
  };
  make(claimed.outboundDir);
  make(claimed.workspaceDir, ["a.txt"]);
  make(claimed.socketDir);
  make(`${root}/sessions/ses_1/in`, ["inbound.db"]);
  make(`${root}/sessions/ses_1/out`, ["outbound.db"]);
  make(`${root}/ws/ses_1`, ["b.txt"]);
  Deno.writeTextFileSync(
    `${claimed.home}/claim.json`,
    JSON.stringify({
      sessionId: "ses_1",
      pairs: [
        { from: claimed.inboundDir, to: `${root}/sessions/ses_1/in`, keep: true },
        { from: claimed.outboundDir, to: `${root}/sessions/ses_1/out`, keep: true },
        { from: claimed.workspaceDir, to: `${root}/ws/ses_1`, keep: true },
        { from: claimed.socketDir, to: `${root}/run/ses_1`, keep: false },
      ],
    }),
  );
  // Unclaimed: only its boot record.
  const unclaimed = {
    ...claimed,
    home: `${root}/sessions/.spare-2`,
    inboundDir: `${root}/sessions/.spare-2/in`,
  };
  Object.assign(unclaimed, {
    outboundDir: `${root}/sessions/.spare-2/out`,
    workspaceDir: `${root}/ws/.spare-2`,
  });
  Object.assign(unclaimed, { socketDir: `${root}/run/.spare-2` });
  for (
    const d of [unclaimed.inboundDir, unclaimed.outboundDir, unclaimed.workspaceDir, unclaimed.socketDir]
  ) make(d);
  recordSpareDirs(unclaimed);

  assert.deepEqual(recoverSpares(`${root}/sessions`), { finished: ["ses_1"], removed: 1 });
  const names = (path: string) => [...Deno.readDirSync(path)].map((e) => e.name).sort();
  assert.deepEqual(names(`${root}/sessions/ses_1/in`), ["inbound.db"]);
  assert.deepEqual(names(`${root}/sessions/ses_1/out`), ["outbound.db"]);
  assert.deepEqual(
    names(`${root}/ws/ses_1`),
    ["a.txt", "b.txt"],
    "the session's file and the one moved before the crash",
  );
  assert.deepEqual(names(`${root}/sessions`), ["ses_1"], "no spare home is left");
  assert.deepEqual(names(`${root}/ws`), ["ses_1"]);
  assert.deepEqual(names(`${root}/run`), ["ses_1"]);
});
