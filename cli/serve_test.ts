import assert from "node:assert/strict";
import { tempDir } from "../tests/support/mod.ts";
import { FakeKubernetes } from "../tests/support/fake_kubernetes.ts";
import {
  DEFAULT_NAMESPACE,
  DEFAULT_RUNTIME_CLASS,
  NODE_NAME_ENV,
  RUNSC_HANDLER,
} from "../isolator/kubernetes/mod.ts";
import { lockHolder } from "../src/control_plane/mod.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";
import {
  describeEgress,
  egressOption,
  floodLimitsOption,
  idleStopOption,
  inboundBacklogOption,
  isLoopbackHost,
  maxSandboxesOption,
  modelUpstreamsOption,
  mountPrefixesOption,
  runServe,
  type ServeFlags,
  startWarnings,
  usageOptions,
  warmSparesOption,
} from "./serve.ts";
import { answered, okBody, typedApi } from "../tests/support/api.ts";

/** `serve` running until `stop` aborts; `listening` resolves with its URL (and rejects if it returns first). */
function serveInBackground(flags: ServeFlags) {
  const stop = new AbortController();
  const io = captureIo();
  const { promise: url, resolve } = Promise.withResolvers<string>();
  const watched = {
    ...io,
    out: (line: string) => {
      io.out(line);
      const found = /listening on (\S+)/.exec(line)?.[1];
      if (found) resolve(found);
    },
  };
  const running = runServe(watched, flags, stop.signal);
  const listening = Promise.race([
    url,
    running.then(() => Promise.reject(new Error(`serve returned early: ${io.stderr.join("\n")}`))),
  ]);
  return { io, listening, running, stop };
}

Deno.test("loopback means 127/8, ::1 and localhost only", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"]) {
    assert.ok(isLoopbackHost(h), h);
  }
  for (const h of ["0.0.0.0", "::", "100.64.0.7", "128.0.0.1", "127.0.0.1.example.com", "localhost.evil"]) {
    assert.ok(!isLoopbackHost(h), h);
  }
});

Deno.test("serve --dev refuses a non-loopback address before touching the state directory", async () => {
  using dir = tempDir();
  for (const addr of ["0.0.0.0:8787", "100.64.0.7:8787", "[::]:8787"]) {
    const io = captureIo();
    const code = await runCli(["serve", "--dev", "--state-dir", `${dir.path}/s`, "--api-addr", addr], io);
    assert.equal(code, 1, addr);
    assert.deepEqual(io.stderr, [
      `ironclaw: --dev listens on loopback only; refusing --api-addr ${addr} (use 127.0.0.1:PORT)`,
    ]);
  }
  const io = captureIo();
  assert.equal(await runCli(["serve", "--state-dir", `${dir.path}/s`, "--api-addr", "nonsense"], io), 1);
  assert.match(io.stderr[0], /^ironclaw: --api-addr nonsense: invalid API address/);
  assert.throws(() => Deno.statSync(`${dir.path}/s`), Deno.errors.NotFound);
});

Deno.test("serve --inbound-backlog takes a whole number from 1 and refuses the rest before touching the state directory", async () => {
  assert.deepEqual(inboundBacklogOption({}), {});
  assert.deepEqual(inboundBacklogOption({ inboundBacklog: "50" }), { inboundBacklogCap: 50 });
  using dir = tempDir();
  for (const value of ["0", "-3", "2.5", "lots", "1e3", "99999999999999999999"]) {
    const io = captureIo();
    const code = await runCli(["serve", "--state-dir", `${dir.path}/s`, "--inbound-backlog", value], io);
    assert.equal(code, 1, value);
    assert.deepEqual(io.stderr, [
      `ironclaw: --inbound-backlog ${value}: expected a whole number of messages, 1 or more`,
    ]);
  }
  assert.throws(() => Deno.statSync(`${dir.path}/s`), Deno.errors.NotFound);
});

Deno.test("serve --max-sandboxes takes a whole number from 1 and refuses the rest in one line", async () => {
  assert.deepEqual(maxSandboxesOption({}), {});
  assert.deepEqual(maxSandboxesOption({ maxSandboxes: "8" }), { maxSandboxes: 8 });
  using dir = tempDir();
  const io = captureIo();
  assert.equal(await runCli(["serve", "--state-dir", `${dir.path}/s`, "--max-sandboxes", "0"], io), 1);
  assert.deepEqual(io.stderr, [
    "ironclaw: --max-sandboxes 0: expected a whole number of sandboxes, 1 or more",
  ]);
});

Deno.test("serve --idle-stop takes a duration or 0 and refuses the rest in one line", async () => {
  assert.deepEqual(idleStopOption({}), {});
  assert.deepEqual(idleStopOption({ idleStop: "30m" }), { idleStopMs: 30 * 60_000 });
  assert.deepEqual(idleStopOption({ idleStop: "0" }), { idleStopMs: 0 });
  using dir = tempDir();
  const io = captureIo();
  assert.equal(await runCli(["serve", "--state-dir", `${dir.path}/s`, "--idle-stop", "soon"], io), 1);
  assert.deepEqual(io.stderr, [
    "ironclaw: --idle-stop soon: expected a duration such as 10m, 30s or 1h, or 0 to keep sandboxes up",
  ]);
});

Deno.test("serve --warm-spares takes 0 to 16 spares per agent (default 1) and refuses the rest in one line", async () => {
  assert.deepEqual(warmSparesOption({}), { warmSpares: 1 });
  assert.deepEqual(warmSparesOption({ warmSpares: "0" }), { warmSpares: 0 });
  assert.deepEqual(warmSparesOption({ warmSpares: "3" }), { warmSpares: 3 });
  using dir = tempDir();
  const io = captureIo();
  assert.equal(await runCli(["serve", "--state-dir", `${dir.path}/s`, "--warm-spares", "-1"], io), 1);
  assert.deepEqual(io.stderr, [
    "ironclaw: --warm-spares -1: expected a whole number of spares per agent from 0 (none) to 16",
  ]);
});

Deno.test("serve mints the token once, serves until stopped, and releases the state directory", async () => {
  using dir = tempDir();
  const stateDir = `${dir.path}/s`;
  const { io, listening, running, stop } = serveInBackground({ dev: true, stateDir, apiAddr: "127.0.0.1:0" });
  const url = await listening;
  const token = Deno.readTextFileSync(`${stateDir}/api-token`).trim();
  assert.ok(
    io.stdout[0].startsWith(`API token (shown once; kept in ${stateDir}/api-token, mode 0600): ${token}`),
  );
  const groups = await okBody(typedApi(url, token).v1.registry["agent-groups"].$get());
  assert.deepEqual(groups.map((g) => g.id), ["demo"]);
  stop.abort();
  await running;
  assert.equal(io.stdout.at(-1), "ironclaw stopped");
  assert.equal(lockHolder(stateDir), undefined);

  // Second run: the stored token is used and not shown again.
  const again = captureIo();
  const second = new AbortController();
  second.abort();
  await runServe(again, { stateDir, apiAddr: "127.0.0.1:0" }, second.signal);
  assert.ok(!again.stdout.some((l) => l.includes(token)));
});

Deno.test("serve --isolator kubernetes without a kubeconfig refuses to start, in one line", async () => {
  using dir = tempDir();
  const saved = { HOME: Deno.env.get("HOME"), KUBECONFIG: Deno.env.get("KUBECONFIG") };
  Deno.env.set("HOME", dir.path);
  Deno.env.delete("KUBECONFIG");
  try {
    const io = captureIo();
    const code = await runCli(["serve", "--isolator", "kubernetes", "--state-dir", `${dir.path}/s`], io);
    assert.equal(code, 1);
    assert.equal(io.stderr.length, 1);
    assert.match(io.stderr[0], /^ironclaw: --isolator kubernetes needs a kubeconfig: set \$KUBECONFIG/);
    assert.throws(() => Deno.statSync(`${dir.path}/s`), Deno.errors.NotFound);
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});

Deno.test("serve --min-recurrence takes a duration and refuses the rest", () => {
  assert.equal(floodLimitsOption({}).floodLimits.minRecurrenceMs, 5 * 60_000);
  assert.equal(floodLimitsOption({ minRecurrence: "30m" }).floodLimits.minRecurrenceMs, 30 * 60_000);
  assert.throws(
    () => floodLimitsOption({ minRecurrence: "often" }),
    /--min-recurrence often: expected a positive duration/,
  );
});

Deno.test("serve --mount-prefix takes absolute directories (default <state-dir>/mounts) and refuses the rest in one line", () => {
  assert.deepEqual(mountPrefixesOption({}, "/var/lib/ironclaw").mountPrefixes, ["/var/lib/ironclaw/mounts"]);
  assert.deepEqual(
    mountPrefixesOption({ mountPrefix: ["/srv/shared", "/home/ann/for-agents"] }, "/s").mountPrefixes,
    ["/srv/shared", "/home/ann/for-agents"],
  );
  for (const bad of ["srv/shared", "/srv/../etc"]) {
    assert.throws(
      () => mountPrefixesOption({ mountPrefix: [bad] }, "/s"),
      new RegExp(
        `^CliError: --mount-prefix ${
          bad.replaceAll(".", "\\.")
        }: expected an absolute directory without '\\.\\.'$`,
      ),
    );
  }
});

Deno.test("serve --model-prices reads a price file and --usage-day-offset takes minutes; bad input is one line", async () => {
  using dir = tempDir();
  const file = `${dir.path}/prices.json`;
  await Deno.writeTextFile(file, JSON.stringify({ "house-model": { input: 1, output: 2 } }));
  assert.deepEqual(await usageOptions({ modelPrices: file, usageDayOffset: "60" }), {
    modelPrices: { "house-model": { input: 1, output: 2 } },
    usageDayOffsetMinutes: 60,
  });
  await Deno.writeTextFile(file, JSON.stringify({ "house-model": { input: "cheap" } }));
  await assert.rejects(
    () => usageOptions({ modelPrices: file }),
    /model prices: .*prices.json must map model names/,
  );
  await assert.rejects(
    () => usageOptions({ usageDayOffset: "1.5" }),
    /--usage-day-offset 1.5: expected whole minutes/,
  );
});

Deno.test({
  name:
    "serve --isolator kubernetes: the check passes against the API, and a message makes the session's Pod on this node",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    using dir = tempDir();
    await using fake = await FakeKubernetes.start();
    fake.addRuntimeClass(DEFAULT_RUNTIME_CLASS, RUNSC_HANDLER);
    using _env = fake.environment(dir.path, { [NODE_NAME_ENV]: "node-a" });
    const stateDir = `${dir.path}/s`;
    const { io, listening, running, stop } = serveInBackground({
      dev: true,
      stateDir,
      apiAddr: "127.0.0.1:0",
      isolator: "kubernetes",
    });
    try {
      const url = await listening;
      assert.ok(
        io.stdout.some((l) =>
          l.startsWith("agents run in: isolator kubernetes (gvisor): kubernetes as configured")
        ),
        io.stdout.join("\n"),
      );
      const token = Deno.readTextFileSync(`${stateDir}/api-token`).trim();
      const sent = await answered(
        typedApi(url, token).v1.ui.chat.send.$post({
          json: { agentGroupId: "demo", text: "hello from the cluster" },
        }),
      );
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      for (let i = 0; i < 3000 && fake.created.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      const pod = fake.created[0];
      assert.ok(pod, "a sandbox Pod was created");
      assert.equal(pod.spec!.nodeName, "node-a");
      assert.equal(pod.spec!.runtimeClassName, DEFAULT_RUNTIME_CLASS);
      const paths = pod.spec!.volumes!.flatMap((v) => v.hostPath ? [v.hostPath.path] : []);
      assert.ok(paths.some((p) => p.startsWith(Deno.realPathSync(stateDir))), paths.join("\n"));
      // The fake has no kubelet: the Pod ends as a node without runsc would end it.
      fake.exit(DEFAULT_NAMESPACE, pod.metadata!.name!, { exitCode: 1, log: "no kubelet here\n" });
    } finally {
      stop.abort();
      await running;
    }
    assert.equal(io.stdout.at(-1), "ironclaw stopped");
  },
});

Deno.test("the egress flags are checked at start-up and named in one line", () => {
  const { egress } = egressOption({
    egressAllowPrivate: "127.0.0.1:8080",
    searchBackend: "duckduckgo",
    searchBackendFor: ["research=searxng=https://searx.example.org"],
  });
  assert.equal(
    describeEgress(egress),
    "hosts a human approved per agent, public addresses only; private exceptions 127.0.0.1:8080; " +
      "web_search via duckduckgo, research: searxng",
  );
  assert.throws(
    () => egressOption({ egressAllowPrivate: "127.0.0.1" }),
    /--egress-allow-private: .* is not HOST:PORT/,
  );
  assert.throws(() => egressOption({ searchBackend: "bing" }), /--search-backend takes/);
  assert.throws(() => egressOption({ searchBackendFor: ["x"] }), /--search-backend-for takes GROUP=BACKEND/);
});

Deno.test("serve checks its port before it opens anything or shows a one-time token", async () => {
  using dir = tempDir();
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const addr = `127.0.0.1:${(taken.addr as Deno.NetAddr).port}`;
  const io = captureIo();
  assert.equal(await runCli(["serve", "--dev", "--state-dir", `${dir.path}/s`, "--api-addr", addr], io), 1);
  assert.deepEqual(io.stdout, []);
  assert.deepEqual(io.stderr, [`ironclaw: cannot listen on ${addr}: address in use`]);
  assert.throws(() => Deno.statSync(`${dir.path}/s`), Deno.errors.NotFound);
});

Deno.test("serve --model-upstream takes HOST=URL (a local OpenAI-compatible server) and refuses the rest in one line", () => {
  assert.deepEqual(
    modelUpstreamsOption({
      modelUpstream: ["API.openai.com=http://127.0.0.1:11434/", "localhost:8080=https://x.test"],
    }),
    {
      upstreams: [
        { host: "api.openai.com", baseUrl: "http://127.0.0.1:11434" },
        { host: "localhost:8080", baseUrl: "https://x.test" },
      ],
    },
  );
  assert.deepEqual(modelUpstreamsOption({}), { upstreams: [] });
  for (
    const bad of ["api.openai.com", "=http://x", "api.openai.com=ftp://x", "a b=http://x", "h=not a url"]
  ) {
    assert.throws(
      () => modelUpstreamsOption({ modelUpstream: [bad] }),
      /--model-upstream .*: expected HOST=URL/,
      bad,
    );
  }
});

Deno.test("a real start warns when no model credential or upstream is set, and when no agent exists", () => {
  const none = startWarnings({ credentials: () => undefined, upstreams: [], agents: 0 });
  assert.equal(none.length, 2);
  assert.match(
    none[0],
    /^warning: no model credential is set \(ANTHROPIC_API_KEY, OPENAI_API_KEY, OPENROUTER_API_KEY\)/,
  );
  assert.match(none[0], /ironclaw onboard/);
  assert.match(none[1], /^warning: no agent exists yet: propose one with `ironclaw agent create`/);
  const keyed = (host: string) => host === "api.openai.com" ? "sk-x" : undefined;
  assert.deepEqual(startWarnings({ credentials: keyed, upstreams: [], agents: 1 }), []);
  const local = [{ host: "llm.local", baseUrl: "http://127.0.0.1:11434" }];
  assert.deepEqual(startWarnings({ credentials: () => undefined, upstreams: local, agents: 3 }), []);
});
