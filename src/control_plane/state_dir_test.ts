import assert from "node:assert/strict";
import { HOST_PERMISSION_FLAGS } from "../../contract/permissions.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { LOCK_FILE, lockHolder, lockStateDir, StateDirBusyError } from "./state_dir.ts";

// Run as a script (`hold DIR` / `probe DIR`), this file is the other process of the tests below,
// under the host's permission flags, as the real binary runs.
if (import.meta.main) {
  const [mode, dir] = Deno.args;
  if (mode === "hold") {
    const release = lockStateDir(dir);
    console.log("locked");
    for await (const _ of Deno.stdin.readable) { /* hold until stdin closes */ }
    release();
  } else {
    let busy: string | null = null;
    try {
      lockStateDir(dir)();
    } catch (err) {
      busy = err instanceof StateDirBusyError ? `busy:${err.pid}` : String(err);
    }
    console.log(JSON.stringify({ holder: lockHolder(dir) ?? null, busy }));
  }
}

function child(mode: "hold" | "probe", dir: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...HOST_PERMISSION_FLAGS, new URL(import.meta.url).pathname, mode, dir],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

async function probe(dir: string): Promise<{ holder: number | null; busy: string | null }> {
  const p = child("probe", dir);
  await p.stdin.close();
  const out = await p.output();
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  return text.split("\n")[0];
}

Deno.test("another process under the host's flags sees the lock, and a crashed holder's lock is free", async () => {
  using dir = tempDir();
  const holder = child("hold", dir.path);
  const stdout = holder.stdout;
  assert.equal(await firstLine(stdout), "locked");
  try {
    assert.deepEqual(await probe(dir.path), { holder: holder.pid, busy: `busy:${holder.pid}` });
    // In this process too.
    assert.equal(lockHolder(dir.path), holder.pid);
    assert.throws(() => lockStateDir(dir.path), StateDirBusyError);
  } finally {
    holder.kill("SIGKILL");
    await holder.status;
    await stdout.cancel().catch(() => {});
    await holder.stdin.close().catch(() => {});
  }
  // The pid file still names the dead holder, but the kernel dropped its lock.
  assert.equal(Deno.readTextFileSync(`${dir.path}/${LOCK_FILE}`).trim(), String(holder.pid));
  assert.deepEqual(await probe(dir.path), { holder: null, busy: null });
});

Deno.test("a released lock can be taken again; the same process cannot take it twice", () => {
  using dir = tempDir();
  const release = lockStateDir(dir.path);
  assert.throws(() => lockStateDir(dir.path), StateDirBusyError);
  assert.equal(Deno.readTextFileSync(`${dir.path}/${LOCK_FILE}`), `${Deno.pid}\n`);
  release();
  release();
  assert.equal(lockHolder(dir.path), undefined);
  assert.equal(Deno.readTextFileSync(`${dir.path}/${LOCK_FILE}`), "");
  lockStateDir(dir.path)();
  assert.equal(Deno.statSync(dir.path).mode! & 0o777, 0o700);
});
