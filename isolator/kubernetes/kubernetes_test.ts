import assert from "node:assert/strict";
import { FakeKubernetes } from "../../tests/support/fake_kubernetes.ts";
import { fixedKey, LIBRARY } from "../../tests/support/mod.ts";
import { LaunchError } from "../errors.ts";
import { keyCopyPath } from "../key.ts";
import { SANDBOX_GID, SANDBOX_UID } from "../plan.ts";
import type { LaunchSpec, SandboxHandle } from "../types.ts";
import {
  DEFAULT_NAMESPACE as NS,
  DEFAULT_RUNTIME_CLASS,
  KUBERNETES_ENV,
  KubernetesIsolator,
  NoKubeconfigError,
  podName,
  podViolations,
  RUNSC_HANDLER,
} from "./mod.ts";

interface Rig extends AsyncDisposable {
  fake: FakeKubernetes;
  isolator: KubernetesIsolator;
  spec: LaunchSpec;
  keyRoot: string;
  name: string;
}

/**
 * A fake API, a backend on node `node-a` pointed at it, and a session's host
 * directories; the agent a bundle run by Deno, or (`executable`) a release's compiled agent.
 */
async function rig(sessionId = "Chat_1.a", opts: { executable?: boolean } = {}): Promise<Rig> {
  const fake = await FakeKubernetes.start();
  fake.addRuntimeClass(DEFAULT_RUNTIME_CLASS, RUNSC_HANDLER);
  const root = Deno.makeTempDirSync({ prefix: "ironclaw-kube-" });
  const keyRoot = Deno.makeTempDirSync({ dir: "/dev/shm", prefix: "ironclaw-keys-" });
  for (const dir of ["in", "out", "workspace", "memory", "sockets"]) Deno.mkdirSync(`${root}/${dir}`);
  for (const dir of ["in", "out"]) Deno.chownSync(`${root}/${dir}`, SANDBOX_UID, SANDBOX_GID);
  Deno.writeTextFileSync(`${root}/agent.js`, "");
  Deno.writeTextFileSync(`${root}/ironclaw-agent`, "", { mode: 0o755 });
  const program = opts.executable ? `${root}/ironclaw-agent` : `${root}/agent.js`;
  const isolator = new KubernetesIsolator({
    ...(opts.executable ? { agentExecutable: program } : {}),
    stateDir: `${root}/state`,
    keyRoot,
    kubeconfig: await fake.kubeConfig(),
    nodeName: "node-a",
    // A connection reset under Deno's node compatibility may never close the stream: the idle limit ends it.
    watchIdleMs: 1_000,
  });
  return {
    fake,
    isolator,
    keyRoot,
    name: await podName(sessionId),
    spec: {
      sessionId,
      inboundDir: `${root}/in`,
      outboundDir: `${root}/out`,
      key: { bytes: fixedKey(0x22) },
      workspaceDir: `${root}/workspace`,
      memoryDir: `${root}/memory`,
      socketDir: `${root}/sockets`,
      library: LIBRARY,
      denoPath: Deno.execPath(),
      program,
    },
    [Symbol.asyncDispose]: async () => {
      await fake[Symbol.asyncDispose]();
      Deno.removeSync(root, { recursive: true });
      Deno.removeSync(keyRoot, { recursive: true });
    },
  };
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Waits until `cond` holds (the watch and the API are asynchronous). */
async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function launched(r: Rig): Promise<SandboxHandle> {
  const handle = await r.isolator.launch(r.spec);
  await until(() => r.fake.openWatches === 1, "the watch");
  return handle;
}

Deno.test("launch creates the hardened Pod on this node, and its exit code, log and cleanup follow the kubelet", async () => {
  await using r = await rig();
  const handle = await launched(r);
  const pod = r.fake.pod(NS, r.name)!;
  assert.deepEqual(pod.spec!.nodeName, "node-a");
  assert.deepEqual(pod.spec!.runtimeClassName, DEFAULT_RUNTIME_CLASS);
  assert.deepEqual(pod.metadata!.annotations!["ironclaw.dev/session-id"], r.spec.sessionId);
  const mounts = Object.fromEntries(
    pod.spec!.containers[0].volumeMounts!.map((m) => [m.mountPath, m.readOnly]),
  );
  // Read-only exactly where runsc has it read-only.
  assert.deepEqual(mounts["/run/ironclaw/in"], true);
  assert.deepEqual(mounts["/run/ironclaw/out"], false);
  assert.deepEqual(mounts["/run/ironclaw/key/session.key"], true);
  assert.deepEqual(mounts["/run/ironclaw/sock"], true);
  assert.deepEqual(mounts["/workspace"], false);
  const keyCopy = keyCopyPath(r.keyRoot, r.spec.sessionId);
  const keyVolume = pod.spec!.volumes!.find((v) => v.hostPath?.path === keyCopy);
  assert.deepEqual(keyVolume?.hostPath?.type, "File");
  assert.ok(exists(keyCopy));
  assert.ok(await handle.alive());

  r.fake.run(NS, r.name);
  r.fake.exit(NS, r.name, { exitCode: 3, log: "agent said goodbye\n" });
  assert.deepEqual(await handle.exited, { code: 3 });
  assert.ok(Deno.readTextFileSync(handle.logPath).includes("agent said goodbye"));
  assert.deepEqual(r.fake.pod(NS, r.name), undefined, "the ended Pod is deleted");
  assert.ok(!exists(keyCopy), "the key copy is removed");
  assert.ok(!await handle.alive());
});

Deno.test("stop deletes the Pod and settles exited; a second stop is harmless", async () => {
  await using r = await rig();
  const handle = await launched(r);
  r.fake.run(NS, r.name);
  await handle.stop();
  await handle.stop();
  assert.deepEqual(await handle.exited, { code: null, signal: "SIGKILL" });
  assert.deepEqual(r.fake.pod(NS, r.name), undefined);
  assert.ok(r.fake.requests.some((q) => q.startsWith(`DELETE /api/v1/namespaces/${NS}/pods/${r.name}`)));
  assert.ok(!exists(keyCopyPath(r.keyRoot, r.spec.sessionId)));
});

Deno.test("a stale Pod of the same name (409) is deleted and the Pod made again", async () => {
  await using r = await rig();
  r.fake.plant({
    metadata: { name: r.name, namespace: NS, uid: "stale" },
    spec: { containers: [{ name: "agent", image: "old" }] },
  });
  const handle = await launched(r);
  assert.deepEqual(r.fake.created.length, 2, "one refused create, one after the delete");
  const pod = r.fake.pod(NS, r.name)!;
  assert.ok(pod.metadata!.uid !== "stale");
  assert.deepEqual(pod.spec!.containers[0].image, "registry.k8s.io/pause:3.10");
  await handle.stop();
});

for (
  const failure of [
    {
      code: 403,
      reason: "Forbidden",
      message: 'pods "x" is forbidden: node agent may only create on its own node',
    },
    { code: 422, reason: "Invalid", message: 'Pod "x" is invalid: spec.runtimeClassName: Not found' },
  ]
) {
  Deno.test(`a ${failure.code} on create is a launch error carrying the API's message`, async () => {
    await using r = await rig();
    r.fake.failNext("create", failure);
    const err = await r.isolator.launch(r.spec).then(() => undefined, (e) => e);
    assert.ok(err instanceof LaunchError);
    assert.ok(err.message.includes(failure.message), err.message);
    assert.ok(err.message.includes(`answered ${failure.code}`), err.message);
    assert.ok(!exists(keyCopyPath(r.keyRoot, r.spec.sessionId)), "no key copy is left behind");
  });
}

Deno.test("an exit missed by a stalled watch is found after the 410 relist", async () => {
  await using r = await rig();
  const handle = await launched(r);
  r.fake.stallWatches();
  r.fake.exit(NS, r.name, { exitCode: 7, log: "late\n" });
  r.fake.compact();
  r.fake.dropWatches();
  assert.deepEqual(await handle.exited, { code: 7 });
  assert.ok(
    r.fake.requests.some((q) => q.includes("fieldSelector=metadata.name") && !q.includes("watch=true")),
  );
  assert.ok(Deno.readTextFileSync(handle.logPath).includes("late"));
});

Deno.test("a watch the server closes resumes from its version and still sees the exit", async () => {
  await using r = await rig();
  const handle = await launched(r);
  r.fake.dropWatches();
  await until(() => r.fake.openWatches === 1, "the watch to resume");
  r.fake.exit(NS, r.name, { exitCode: 0 });
  assert.deepEqual(await handle.exited, { code: 0 });
});

Deno.test("an unreachable API is not alive (fail closed); once back, the exit is still seen", async () => {
  await using r = await rig();
  const handle = await launched(r);
  r.fake.run(NS, r.name);
  assert.ok(await handle.alive());
  r.fake.down();
  assert.deepEqual(await handle.alive(), false);
  r.fake.exit(NS, r.name, { exitCode: 5 });
  r.fake.up();
  assert.deepEqual(await handle.exited, { code: 5 });
});

Deno.test("a container that cannot start, or a Pod deleted by someone else, ends the sandbox with the reason", async () => {
  await using r = await rig();
  const handle = await launched(r);
  r.fake.wait(NS, r.name, "ErrImagePull", "pull access denied");
  assert.deepEqual(await handle.exited, { code: null, signal: "SIGKILL" });
  assert.ok(
    Deno.readTextFileSync(handle.logPath).includes("cannot start: ErrImagePull (pull access denied)"),
  );

  const again = await launched(r);
  r.fake.remove(NS, r.name);
  assert.deepEqual(await again.exited, { code: null, signal: "SIGKILL" });
  assert.ok(Deno.readTextFileSync(again.logPath).includes("deleted by someone else"));
});

Deno.test("check requires a RuntimeClass whose handler is runsc", async () => {
  await using r = await rig();
  assert.ok((await r.isolator.check()).ok);
  r.fake.addRuntimeClass(DEFAULT_RUNTIME_CLASS, "kata");
  const kata = await r.isolator.check();
  assert.deepEqual(kata.ok, false);
  assert.ok(kata.detail.includes(`handler "kata", not runsc`));
  r.fake.failNext("runtimeclass", { code: 404, reason: "NotFound", message: 'runtimeclasses "x" not found' });
  const missing = await r.isolator.check();
  assert.deepEqual(missing.ok, false);
  assert.ok(missing.detail.includes(`RuntimeClass ${DEFAULT_RUNTIME_CLASS}`));
  r.fake.down();
  const down = await r.isolator.check();
  assert.deepEqual(down.ok, false);
  assert.ok(down.detail.includes("unreachable"));
});

Deno.test("without a kubeconfig the backend fails its check and refuses launches, in one line", async () => {
  const home = Deno.makeTempDirSync();
  const saved = { HOME: Deno.env.get("HOME"), KUBECONFIG: Deno.env.get("KUBECONFIG") };
  Deno.env.set("HOME", home);
  Deno.env.delete("KUBECONFIG");
  try {
    const isolator = new KubernetesIsolator({ stateDir: `${home}/state` });
    const check = await isolator.check();
    assert.deepEqual(check, { ok: false, detail: new NoKubeconfigError().message });
    assert.ok(!check.detail.includes("\n"));
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    Deno.removeSync(home, { recursive: true });
  }
});

Deno.test("the stored Pod keeps every invariant, and an extra hostPath, capability or volume is caught", async () => {
  await using r = await rig();
  const handle = await launched(r);
  const pod = r.fake.created[0];
  const binds = pod.spec!.volumes!.filter((v) => v.hostPath).map((v) => {
    const m = pod.spec!.containers[0].volumeMounts!.find((m) => m.name === v.name)!;
    return {
      source: v.hostPath!.path,
      destination: m.mountPath,
      writable: !m.readOnly,
      exec: false,
      isFile: v.hostPath!.type === "File",
    };
  });
  const limits = { memoryMiB: 512, pids: 256, cpus: 1 };
  assert.deepEqual(podViolations(pod, { binds, limits }), []);
  const broken = (change: (p: typeof pod) => void) => {
    const copy = structuredClone(pod);
    change(copy);
    return podViolations(copy, { binds, limits });
  };
  assert.deepEqual(
    broken((p) => {
      p.spec!.volumes!.push({ name: "etc", hostPath: { path: "/etc" } });
      p.spec!.containers[0].volumeMounts!.push({ name: "etc", mountPath: "/host-etc" });
    }).length > 0,
    true,
  );
  assert.ok(broken((p) => p.spec!.containers[0].securityContext!.capabilities!.add = ["NET_RAW"]).length > 0);
  assert.ok(broken((p) => p.spec!.volumes!.push({ name: "s", secret: { secretName: "x" } })).length > 0);
  assert.ok(broken((p) => p.spec!.volumes!.push({ name: "p", projected: { sources: [] } })).length > 0);
  assert.ok(broken((p) => p.spec!.automountServiceAccountToken = true).length > 0);
  assert.ok(broken((p) => p.spec!.containers[0].volumeMounts![0].readOnly = false).length > 0);
  assert.ok(broken((p) => p.spec!.containers[0].ports = [{ containerPort: 80 }]).length > 0);
  assert.ok(broken((p) => p.spec!.hostNetwork = true).length > 0);
  assert.ok(broken((p) => p.spec!.containers[0].resources!.limits!.memory = "8Gi").length > 0);
  assert.ok(broken((p) => delete p.spec!.containers[0].resources!.requests).length > 0);
  assert.ok(broken((p) => p.spec!.containers[0].resources!.limits!["nvidia.com/gpu"] = "1").length > 0);
  await handle.stop();
});

Deno.test("a release's compiled agent runs alone: no Deno binary in the Pod, the layout on its command line", async () => {
  await using r = await rig("rel", { executable: true });
  const handle = await launched(r);
  const pod = r.fake.pod(NS, r.name)!;
  const container = pod.spec!.containers[0];
  assert.equal(container.command![0], "/opt/ironclaw/ironclaw-agent");
  assert.match(container.command![1], /^--layout=/);
  const mounts = container.volumeMounts!.map((m) => m.mountPath);
  assert.ok(mounts.includes("/opt/ironclaw/ironclaw-agent"));
  assert.ok(!mounts.includes("/opt/ironclaw/bin/deno") && !mounts.includes("/opt/ironclaw/deno-dir"));
  await handle.stop();
});

Deno.test("an unreachable API fails the launch in one line and leaves no key copy; stop waits for the API", async () => {
  await using r = await rig();
  r.fake.down();
  const err = await r.isolator.launch(r.spec).then(() => undefined, (e) => e);
  assert.ok(err instanceof LaunchError);
  assert.match(err.message, /the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ is unreachable/);
  assert.ok(!err.message.includes("\n"));
  assert.ok(!exists(keyCopyPath(r.keyRoot, r.spec.sessionId)));

  r.fake.up();
  const handle = await launched(r);
  r.fake.down();
  let stopped = false;
  const stopping = handle.stop().then(() => stopped = true);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(stopped, false, "the Pod cannot be known gone while the API is down");
  assert.ok(r.fake.pod(NS, r.name), "and it is not deleted yet");
  r.fake.up();
  await stopping;
  assert.equal(r.fake.pod(NS, r.name), undefined);
});

Deno.test("a session directory behind a symlink is mounted, and judged, by its real path", async () => {
  await using r = await rig();
  const real = r.spec.outboundDir;
  const link = `${real}-link`;
  Deno.symlinkSync(real, link);
  const handle = await r.isolator.launch({ ...r.spec, outboundDir: link });
  const pod = r.fake.pod(NS, r.name)!;
  const mount = pod.spec!.containers[0].volumeMounts!.find((m) => m.mountPath === "/run/ironclaw/out")!;
  const volume = pod.spec!.volumes!.find((v) => v.name === mount.name)!;
  assert.equal(volume.hostPath!.path, Deno.realPathSync(real));
  await handle.stop();
});

Deno.test("the operator's namespace, RuntimeClass and image come from the environment", async () => {
  await using r = await rig();
  r.fake.addRuntimeClass("gvisor-b", RUNSC_HANDLER);
  const values = { namespace: "team-b", runtimeClassName: "gvisor-b", image: "example.org/empty:1" };
  for (const [k, v] of Object.entries(values)) Deno.env.set(KUBERNETES_ENV[k as keyof typeof values], v);
  try {
    const isolator = new KubernetesIsolator({
      stateDir: `${r.spec.workspaceDir}/../state-b`,
      keyRoot: r.keyRoot,
      kubeconfig: await r.fake.kubeConfig(),
      nodeName: "node-a",
    });
    assert.ok((await isolator.check()).ok);
    const handle = await isolator.launch(r.spec);
    const pod = r.fake.pod("team-b", r.name)!;
    assert.equal(pod.spec!.runtimeClassName, "gvisor-b");
    assert.equal(pod.spec!.containers[0].image, "example.org/empty:1");
    await handle.stop();
  } finally {
    for (const name of Object.values(KUBERNETES_ENV)) Deno.env.delete(name);
  }
});

Deno.test("stop gives a sandbox up when the API stays unreachable past the stop timeout, and says so", async () => {
  await using r = await rig();
  const isolator = new KubernetesIsolator({
    stateDir: `${r.spec.workspaceDir}/../state-c`,
    keyRoot: r.keyRoot,
    kubeconfig: await r.fake.kubeConfig(),
    nodeName: "node-a",
    watchIdleMs: 1_000,
    stopTimeoutMs: 500,
  });
  const handle = await isolator.launch(r.spec);
  r.fake.down();
  await handle.stop();
  assert.deepEqual(await handle.exited, { code: null, signal: "SIGKILL" });
  assert.match(Deno.readTextFileSync(handle.logPath), /deleting the Pod failed for 0\.5 s .*: given up/);
  assert.ok(!exists(keyCopyPath(r.keyRoot, r.spec.sessionId)));
  // The next launch, with the API back, finds the Pod left behind (409) and makes it anew.
  r.fake.up();
  const again = await isolator.launch(r.spec);
  assert.equal(r.fake.created.length, 3);
  await again.stop();
});

Deno.test("the Pod's limits and requests are the spec's", async () => {
  await using r = await rig();
  const handle = await r.isolator.launch({ ...r.spec, limits: { memoryMiB: 256, cpus: 2 } });
  const resources = r.fake.pod(NS, r.name)!.spec!.containers[0].resources!;
  assert.deepEqual(resources.limits, { memory: "256Mi", cpu: "2" });
  assert.deepEqual(resources.requests, resources.limits);
  await handle.stop();
});
