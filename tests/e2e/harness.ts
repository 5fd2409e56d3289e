/**
 * End-to-end harness: a real control plane over a temporary state
 * directory (dev mode: the `demo` agent on the mock model), its HTTP API on
 * a free loopback port, and a chat client over that API.
 *
 * @module
 */
import { HOST_PERMISSION_FLAGS } from "../../contract/permissions.ts";
import { type IsolatorPreference, isolators } from "../../isolator/mod.ts";
import { tempDir } from "../support/mod.ts";
import { E2E_TOKEN, type E2eHost, openPlane } from "./plane.ts";
import { answered, okBody } from "../support/api.ts";
import { drainChat } from "../support/web_chat_client.ts";
import { DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";

export { E2E_TOKEN };
export type { E2eHost };

/** Opens a dev control plane sandboxing agents with `isolator`, and its API on port 0, over a temporary state dir. */
export async function openHost(isolator: IsolatorPreference): Promise<E2eHost> {
  const dir = tempDir("ironclaw-e2e-");
  const host = await openPlane(dir.path, { isolator });
  return {
    ...host,
    [Symbol.asyncDispose]: async () => {
      try {
        await host[Symbol.asyncDispose]();
      } finally {
        dir[Symbol.dispose]();
      }
    },
  };
}

/**
 * Waits for the chat's next replies through the long-polling drain (each
 * poll returns as soon as a reply lands). Gives up after `polls` empty
 * windows, or once a session is parked (its sandbox kept failing), and then
 * says what the agent's log and the session show.
 */
export async function nextReplies(host: E2eHost, chatId: string, polls = 6): Promise<string[]> {
  for (let i = 0; i < polls; i++) {
    const messages = await drainChat(host.api, { chatId, waitMs: 20_000 });
    if (messages.length > 0) return messages.map((m) => m.content);
    if (host.plane.waker.parked().length > 0) break;
  }
  throw new Error(`no reply in chat ${chatId}:\n${await diagnose(host)}`);
}

/**
 * Sends `text` to the demo agent in the web chat (`chatId`, or a new chat)
 * and waits for its first reply.
 */
export async function say(
  host: E2eHost,
  text: string,
  chatId?: string,
): Promise<{ reply: string; chatId: string }> {
  const sent = await answered(
    host.api.v1.ui.chat.send.$post({ json: { agentGroupId: DEMO_AGENT_ID, text, chatId } }),
  );
  if (sent.status !== 202) throw new Error(`the chat refused the message: ${JSON.stringify(sent.body)}`);
  const [reply] = await nextReplies(host, sent.body.chatId);
  return { reply, chatId: sent.body.chatId };
}

/** The sessions and the tail of every agent log, for a failing test's message. */
export async function diagnose(host: E2eHost): Promise<string> {
  const lines = [`sessions: ${JSON.stringify(host.plane.registry.listSessions())}`];
  for (const sessionId of host.plane.sandboxes.sessions()) {
    const log = host.plane.sandboxes.logPath(sessionId);
    const text = log ? await Deno.readTextFile(log).catch(() => "(no log)") : "(no log)";
    lines.push(`--- ${sessionId} log:\n${text.slice(-3000)}`);
  }
  return lines.join("\n");
}

/** Runs `ironclaw <args>` from source as its own process, against `host`'s API, with `stdin` piped in. */
export async function runIronclaw(
  host: E2eHost,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const entry = new URL("../../cli/main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...HOST_PERMISSION_FLAGS, entry, ...args],
    env: { IRONCLAW_API_URL: host.server.url, IRONCLAW_API_TOKEN: E2E_TOKEN, NO_COLOR: "1" },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/**
 * Polls `probe` (with growing pauses, about 20 s in all) until it returns a
 * value; then fails with `explain()`. For effects with no event to wait on.
 */
export async function until<T>(
  probe: () => Promise<T | undefined>,
  explain: () => Promise<string>,
): Promise<T> {
  for (let pause = 10; pause < 5000; pause *= 2) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  const value = await probe();
  if (value !== undefined) return value;
  throw new Error(`gave up waiting:\n${await explain()}`);
}

/**
 * The changes waiting for a human, once there are any: the agent writes a
 * request's system row after its reply, so delivery is run until one lands.
 */
export async function pendingChanges(host: E2eHost) {
  return await until(async () => {
    await host.plane.delivery.deliverAll();
    const body = await okBody(host.api.v1.changes.pending.$get());
    return body.length > 0 ? body : undefined;
  }, () => diagnose(host));
}

/** Approves change `id` as a human would, and checks it applied. */
export async function approveChange(host: E2eHost, id: string): Promise<void> {
  const decided = await answered(
    host.api.v1.changes[":id"].decision.$post({
      param: { id },
      json: { outcome: "approve", decidedBy: "test:human" },
    }),
  );
  if (decided.status !== 200 || decided.body.record.status !== "applied") {
    throw new Error(`change ${id} did not apply: ${JSON.stringify(decided.body)}`);
  }
}

/** Whether a sandbox backend runs here at all (installed, root for the sandboxes, its smoke launch passes). */
export async function backendWorks(kind: "runsc" | "bwrap"): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  using dir = tempDir(`ironclaw-${kind}-check-`);
  return (await isolators({ stateDir: dir.path })[kind].check()).ok;
}
