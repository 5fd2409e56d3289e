/**
 * The README quickstart, end to end, with real processes: `ironclaw serve
 * --dev` in one (through `scripts/entrypoint.ts`, as the `dev` task runs it),
 * and each CLI command as a separate process talking to it over HTTP,
 * launched exactly as the README says, `deno task ironclaw -- <args>` (the
 * binary's permission flags). Then the offline commands against the stopped
 * state.
 *
 * @module
 */
import assert from "node:assert/strict";
import { lockHolder, MODEL_PROVIDERS, modelKeyEnv } from "../src/control_plane/mod.ts";
import { tempDir } from "./support/mod.ts";

const root = new URL("../", import.meta.url).pathname;
const entrypoint = `${root}scripts/entrypoint.ts`;

/**
 * The environment of every child: ours, minus anything that would point the CLI elsewhere, and minus the
 * model providers' keys (the quickstart has none: `doctor` would ask the provider; a test running beside
 * this one may have set one in this process).
 */
function childEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  const modelKeys = MODEL_PROVIDERS.map((provider) => modelKeyEnv({ provider }));
  for (const name of ["IRONCLAW_API_TOKEN", "IRONCLAW_API_URL", "IRONCLAW_STATE_DIR", ...modelKeys]) {
    delete env[name];
  }
  return { ...env, NO_COLOR: "1" };
}

/** The server: `serve` through the entrypoint, which forwards SIGTERM to it. */
function ironclawCommand(args: string[], stdout: "piped" | "null" = "piped"): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-run", "--allow-env", entrypoint, "host", "--", ...args],
    cwd: root,
    env: childEnv(),
    clearEnv: true,
    stdin: "null",
    stdout,
    stderr: "piped",
  });
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one CLI command to completion, as the README does: `deno task ironclaw -- <args>`. */
async function ironclaw(...args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "ironclaw", "--", ...args],
    cwd: root,
    env: childEnv(),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Runs one CLI command that must succeed, returning its stdout. */
async function ok(...args: string[]): Promise<string> {
  const run = await ironclaw(...args);
  assert.equal(run.code, 0, `ironclaw ${args.join(" ")} failed: ${run.stderr}`);
  return run.stdout;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Reads the server's stdout line by line, keeping what it has seen. */
class LineReader {
  readonly seen: string[] = [];
  #lines: AsyncIterator<string>;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#lines = splitLines(stream.pipeThrough(new TextDecoderStream()))[Symbol.asyncIterator]();
  }
  /** The first line (from here on) matching `pattern`; fails if the stream ends first. */
  async waitFor(pattern: RegExp): Promise<string> {
    for (;;) {
      const next = await this.#lines.next();
      if (next.done) throw new Error(`server output ended before ${pattern}: ${this.seen.join(" | ")}`);
      this.seen.push(next.value);
      if (pattern.test(next.value)) return next.value;
    }
  }
  /** Everything that is left, once the stream ends. */
  async rest(): Promise<string[]> {
    for (let next = await this.#lines.next(); !next.done; next = await this.#lines.next()) {
      this.seen.push(next.value);
    }
    return this.seen;
  }
}

async function* splitLines(stream: ReadableStream<string>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream) {
    buffered += chunk;
    for (let nl = buffered.indexOf("\n"); nl !== -1; nl = buffered.indexOf("\n")) {
      yield buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
    }
  }
  if (buffered) yield buffered;
}

Deno.test("README quickstart: serve --dev, submit → pending → approve → history → audit, then offline", async () => {
  using dir = tempDir();
  const stateDir = `${dir.path}/state`;
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = ironclawCommand([
    "serve",
    "--dev",
    "--state-dir",
    stateDir,
    "--api-addr",
    `127.0.0.1:${port}`,
  ])
    .spawn();
  const stderr = new Response(server.stderr).text();
  const out = new LineReader(server.stdout);
  let stopped = false;
  let auditLines = 0;
  try {
    // First run: the token is minted and shown once, then the listening line.
    const tokenLine = await out.waitFor(/^API token /);
    const token = /: ([0-9a-f]{64})$/.exec(tokenLine)?.[1];
    assert.ok(token, tokenLine);
    assert.equal(Deno.readTextFileSync(`${stateDir}/api-token`).trim(), token);
    assert.equal(Deno.statSync(`${stateDir}/api-token`).mode! & 0o777, 0o600);
    await out.waitFor(new RegExp(`listening on ${url.replaceAll(".", "\\.")}`));
    const ready = await fetch(`${url}/readyz`);
    assert.deepEqual([ready.status, await ready.json()], [200, { status: "ready" }]);

    const api = ["--api-url", url, "--state-dir", stateDir];

    // The demo agent answers from its sandbox, launched under the binary's own permission flags.
    assert.equal(
      (await ok("chat", "demo", "--message", "hello from the walkthrough", "--timeout", "120", ...api))
        .trim(),
      "mock-agent received: hello from the walkthrough",
    );

    // A second control plane on the same state directory, or a key rotation under it, is refused.
    const rotateLive = await ironclaw("keys", "rotate", "--state-dir", stateDir);
    assert.equal(rotateLive.code, 1, rotateLive.stdout + rotateLive.stderr);
    assert.match(rotateLive.stderr.trim(), /^ironclaw: .* is in use by a running control plane \(pid \d+\)/);

    // submit
    const submitted = JSON.parse(
      await ok(
        "change",
        "submit",
        "--kind",
        "enabled_tools",
        "--agent",
        "demo",
        "--after",
        '["read_file","send_message"]',
        "--requested-by",
        "readme:walkthrough",
        "--json",
        ...api,
      ),
    );
    const id: string = submitted.request.id;
    assert.equal(submitted.status, "pending");

    // pending
    const pending = await ok("change", "pending", ...api);
    assert.match(pending, new RegExp(`^${id} +enabled_tools +demo +readme:walkthrough `, "m"));

    // approve
    assert.equal(
      (await ok("change", "approve", id, "--by", "readme:operator", ...api)).trim(),
      `approved ${id}: status applied`,
    );
    const again = await ironclaw("change", "approve", id, ...api);
    assert.equal(again.code, 1);
    assert.equal(again.stderr.trim().split("\n").length, 1, again.stderr);

    // history
    const history = JSON.parse(await ok("change", "history", "--json", ...api));
    const applied = history.find((r: { request: { id: string } }) => r.request.id === id);
    assert.equal(applied.status, "applied");
    assert.equal(applied.decision.decidedBy, "readme:operator");
    assert.match(
      await ok("change", "history", ...api),
      new RegExp(`^${id} +enabled_tools +demo +applied +readme:operator`, "m"),
    );
    assert.equal(await ok("change", "pending", ...api), "No changes awaiting approval.\n");

    // audit: every stage of the change, its registry write among them, in order, and the chain verifies
    // (among the registry writes before it: the dev seed and the chat the walkthrough opened)
    const audit = JSON.parse(await ok("audit", "--json", ...api));
    assert.deepEqual(
      audit.filter((e: { changeId: string }) => e.changeId === id).map((e: { stage: string }) => e.stage),
      ["submit", "verdict", "decision", "registry", "apply"],
    );
    assert.match(await ok("audit", "--limit", "4", ...api), /^TIME +STAGE +CHANGE +KIND +DETAIL\n(.*\n){4}$/);
    assert.match(
      await ok("audit", "verify", ...api),
      new RegExp(
        `^audit chain ok: ${audit.length} lines verified, head [0-9a-f]{64} \\(matches the state database\\) \\(${url}\\)`,
      ),
    );

    // README "Your own agent": proposed from a template, approved, and it answers its creator at once.
    const created = JSON.parse(
      await ok("agent", "create", "--name", "Home Helper", "--template", "assistant", "--json", ...api),
    );
    assert.equal(created.request.agentGroupId, "home-helper");
    assert.match(
      await ok("change", "approve", created.request.id, ...api),
      /\ntalk to it with: ironclaw chat home-helper\n$/,
    );
    assert.equal(
      (await ok("chat", "home-helper", "--message", "hello, new agent", "--timeout", "120", ...api)).trim(),
      "mock-agent received: hello, new agent",
    );
    const agents = JSON.parse(await ok("agent", "list", "--json", ...api));
    assert.deepEqual(agents.map((a: { id: string }) => a.id).sort(), ["demo", "home-helper"]);

    auditLines = JSON.parse(await ok("audit", "--json", "--limit", "2000", ...api)).length;
    const status = JSON.parse(await ok("status", "--json", ...api));
    assert.deepEqual([status.ready, status.agents, status.pendingChanges], [true, 2, 0]);

    // A bad token is one line saying how to fix it.
    const denied = await ironclaw(
      "change",
      "pending",
      "--api-url",
      url,
      "--state-dir",
      `${dir.path}/elsewhere`,
    );
    assert.equal(denied.code, 1);
    assert.match(denied.stderr.trim(), /^ironclaw: no API token \(401\): set IRONCLAW_API_TOKEN/);

    // Stop: SIGTERM, a clean exit, the plane closed (its lock released).
    server.kill("SIGTERM");
    const exit = await server.status;
    stopped = true;
    assert.equal(exit.code, 0, await stderr);
    assert.ok((await out.rest()).includes("ironclaw stopped"));
    assert.equal(lockHolder(stateDir), undefined);
  } finally {
    if (!stopped) {
      // SIGTERM, which the entrypoint forwards (a SIGKILL would orphan the server under it).
      server.kill("SIGTERM");
      await server.status;
    }
    await stderr;
  }

  // Offline, against the stopped state directory.
  assert.match(
    await ok("audit", "verify", "--offline", "--state-dir", stateDir),
    new RegExp(`^audit chain ok: ${auditLines} lines verified`),
  );
  const rotation = JSON.parse(await ok("keys", "rotate", "--state-dir", stateDir, "--json"));
  assert.notEqual(rotation.previousMaster, rotation.currentMaster);
  assert.equal(
    rotation.rewrapped,
    5,
    "the state database, vault and audit keys, and the two chat sessions' keys",
  );
  const doctor = await ironclaw("doctor", "--state-dir", stateDir, "--api-url", url);
  assert.equal(doctor.code, 1);
  assert.deepEqual(doctor.stdout.trim().split("\n").map((l) => l.split(/\s+/).slice(0, 2).join(" ")), [
    "ok sqlcipher",
    "ok state-dir",
    "ok master-key",
    "ok audit-chain",
    "ok sandbox",
    "FAIL api",
  ]);

  // The rotated keys still open the state: serve again, and the agent approved earlier is there.
  const port2 = freePort();
  const again = ironclawCommand(["serve", "--state-dir", stateDir, "--api-addr", `127.0.0.1:${port2}`])
    .spawn();
  const againOut = new LineReader(again.stdout);
  const againErr = new Response(again.stderr).text();
  try {
    await againOut.waitFor(/listening on/);
    const agents = JSON.parse(
      await ok("agent", "list", "--json", "--api-url", `http://127.0.0.1:${port2}`, "--state-dir", stateDir),
    );
    assert.ok(agents.some((a: { id: string }) => a.id === "home-helper"));
  } finally {
    again.kill("SIGTERM");
    assert.equal((await again.status).code, 0, await againErr);
  }
});
