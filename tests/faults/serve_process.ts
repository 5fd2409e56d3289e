/**
 * `ironclaw serve --dev` as a real process for the fault tests: the host
 * program run from source with exactly the binary's permission flags (the
 * argument vector `scripts/entrypoint.ts` builds), in its own session and
 * process group (`setsid`), so a test can SIGKILL the control plane alone
 * (its sandboxed agents are orphaned, as after a real `kill -9`) and still
 * reap everything it started, whatever happened, by killing the group.
 *
 * @module
 */
import { hostRunArgs } from "../../scripts/entrypoint.ts";
import type { ApiRpc } from "../../src/api/mod.ts";
import { typedApi } from "../support/api.ts";

/** A running `serve` process. */
export interface ServeProcess extends AsyncDisposable {
  pid: number;
  url: string;
  token: string;
  /** The API's typed client (read an answer with `answered`). */
  api: ApiRpc;
  /** The Prometheus text of `/metrics`. */
  metrics(): Promise<string>;
  /** SIGKILLs the control plane process only (not its agents) and waits for it to die. */
  kill9(): Promise<void>;
  /** Sends `signal` to the whole process group (as a service manager or a closing terminal does) and waits for the exit. */
  signalGroup(signal: Deno.Signal): Promise<Deno.CommandStatus>;
  /** Everything the server printed so far (stdout and stderr). */
  output(): string;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Process groups started here, killed at exit whatever happens. */
const groups = new Set<number>();
globalThis.addEventListener("unload", () => {
  for (const pgid of groups) killGroup(pgid);
});

/** SIGKILLs a whole process group (the server and every agent it launched); quiet when gone. */
export function killGroup(pgid: number): void {
  try {
    Deno.kill(-pgid, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * Starts `serve --dev --isolator process` over `stateDir` and waits for it
 * to listen. Disposing SIGKILLs its whole process group.
 */
export async function startServe(stateDir: string): Promise<ServeProcess> {
  const port = freePort();
  const env = Deno.env.toObject();
  for (const name of ["IRONCLAW_API_TOKEN", "IRONCLAW_API_URL", "IRONCLAW_STATE_DIR"]) delete env[name];
  const child = new Deno.Command("setsid", {
    args: [
      Deno.execPath(),
      ...hostRunArgs([
        "serve",
        "--dev",
        "--isolator",
        "process",
        "--state-dir",
        stateDir,
        "--api-addr",
        `127.0.0.1:${port}`,
      ]),
    ],
    env: { ...env, NO_COLOR: "1" },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // setsid(1) execs in place (its parent is not a group leader): the child is the group leader.
  groups.add(child.pid);
  let text = "";
  let listening: (url: string) => void;
  const url = new Promise<string>((resolve) => listening = resolve);
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(text);
      if (m) listening(m[1].replace(/\/$/, ""));
    }
  };
  const pumped = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const exited = child.status;
  const first = await Promise.race([url, exited.then((s) => s)]);
  if (typeof first !== "string") {
    await pumped;
    throw new Error(`serve exited (${JSON.stringify(first)}) before listening:\n${text}`);
  }
  const token = Deno.readTextFileSync(`${stateDir}/api-token`).trim();
  return {
    pid: child.pid,
    url: first,
    token,
    api: typedApi(first, token),
    metrics: async () => {
      const response = await fetch(`${first}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      return await response.text();
    },
    kill9: async () => {
      try {
        Deno.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
      await exited;
      await pumped.catch(() => {});
    },
    signalGroup: async (signal) => {
      Deno.kill(-child.pid, signal);
      const status = await exited;
      await pumped.catch(() => {});
      return status;
    },
    output: () => text,
    [Symbol.asyncDispose]: async () => {
      killGroup(child.pid);
      groups.delete(child.pid);
      await exited;
      await pumped.catch(() => {});
    },
  };
}

/** A counter's value in Prometheus text (summed over its labels). */
export function counter(metrics: string, name: string): number {
  let total = 0;
  for (const line of metrics.split("\n")) {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) total += Number(m[1]);
  }
  return total;
}

/** Polls `probe` (pauses growing to 250 ms, about 40 s in all) until it returns a value; then fails with `explain()`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  explain: () => string | Promise<string>,
  timeoutMs = 40_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 20; Date.now() < deadline; pause = Math.min(pause * 2, 250)) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  const value = await probe();
  if (value !== undefined) return value;
  throw new Error(`gave up waiting:\n${await explain()}`);
}

/**
 * A temporary directory removed when disposed, after lazily unmounting
 * whatever the control plane mounted under it (the agent groups' ext4
 * images, left mounted by a SIGKILLed server).
 */
export function faultDir(prefix = "ironclaw-fault-"): { path: string } & AsyncDisposable {
  const path = Deno.makeTempDirSync({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: async () => {
      await unmountUnder(path);
      await Deno.remove(path, { recursive: true });
    },
  };
}

/** Lazily unmounts every mount under `path`, deepest first. */
export async function unmountUnder(path: string): Promise<void> {
  const mounts = Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .map((line) => line.split(" ")[4])
    .filter((m): m is string => m !== undefined && (m === path || m.startsWith(`${path}/`)))
    .sort((a, b) => b.length - a.length);
  for (const mount of mounts) {
    await new Deno.Command("umount", { args: ["-l", mount], stdout: "null", stderr: "null" }).output();
  }
}
