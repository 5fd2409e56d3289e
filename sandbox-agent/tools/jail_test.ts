import assert from "node:assert/strict";
import { tempDir } from "../testing.ts";
import { Jail, MAX_FILE_BYTES } from "./jail.ts";
import { ToolError } from "./tool.ts";

function setup(dir: string): Jail {
  Deno.mkdirSync(`${dir}/ws/sub`, { recursive: true });
  Deno.mkdirSync(`${dir}/outside`);
  Deno.writeTextFileSync(`${dir}/outside/secret.txt`, "secret");
  Deno.writeTextFileSync(`${dir}/ws/sub/a.txt`, "inside");
  return new Jail(`${dir}/ws`);
}

Deno.test("clean: relative segments only", () => {
  assert.equal(Jail.clean("a/./b//c"), "a/b/c");
  assert.equal(Jail.clean(""), "");
  assert.equal(Jail.clean("./"), "");
  for (const bad of ["/etc/passwd", "\\x", "C:/x", "../x", "a/../../x", "a/..", "a\0b"]) {
    assert.throws(() => Jail.clean(bad), ToolError, bad);
  }
});

Deno.test("an absolute path under the folder's names is relative to it; symlinks still cannot lead out", async () => {
  using dir = tempDir();
  setup(dir.path);
  const jail = new Jail(`${dir.path}/ws/`, { seenAs: "/workspace" });
  assert.equal(jail.relative("/workspace"), "");
  assert.equal(jail.relative("/workspace/sub//a.txt"), "sub/a.txt");
  assert.equal(jail.relative(`${dir.path}/ws/sub/a.txt`), "sub/a.txt");
  assert.equal(new TextDecoder().decode(await jail.readBytes("/workspace/sub/a.txt")), "inside");
  for (
    const bad of ["/workspace/../outside/secret.txt", "/workspace/sub/../../x", "/outside", "/workspaces/x"]
  ) {
    assert.throws(() => jail.relative(bad), ToolError, bad);
  }
  Deno.symlinkSync(`${dir.path}/outside/secret.txt`, `${dir.path}/ws/out-file`);
  await assert.rejects(jail.readBytes("/workspace/out-file"), /leads outside/);
});

Deno.test("reads, writes (creating folders) and lists inside the root", async () => {
  using dir = tempDir();
  const jail = setup(dir.path);
  assert.equal(new TextDecoder().decode(await jail.readBytes("sub/a.txt")), "inside");
  assert.equal(await jail.writeText("new/deep/b.txt", "héllo"), 6);
  assert.equal(Deno.readTextFileSync(`${dir.path}/ws/new/deep/b.txt`), "héllo");
  assert.equal(await jail.writeText("sub/a.txt", "replaced"), 8);
  assert.deepEqual(await jail.list(""), [{ name: "new", is_dir: true }, { name: "sub", is_dir: true }]);
  assert.deepEqual(await jail.list("sub"), [{ name: "a.txt", is_dir: false }]);
});

Deno.test("symlinks cannot lead out; symlinks that stay inside work", async () => {
  using dir = tempDir();
  const jail = setup(dir.path);
  Deno.symlinkSync(`${dir.path}/outside`, `${dir.path}/ws/out-dir`);
  Deno.symlinkSync(`${dir.path}/outside/secret.txt`, `${dir.path}/ws/out-file`);
  Deno.symlinkSync(`${dir.path}/outside/not-yet`, `${dir.path}/ws/dangling`);
  Deno.symlinkSync(`${dir.path}/ws/sub`, `${dir.path}/ws/in-dir`);

  await assert.rejects(jail.readBytes("out-file"), /leads outside/);
  await assert.rejects(jail.readBytes("out-dir/secret.txt"), /leads outside/);
  await assert.rejects(jail.list("out-dir"), /leads outside/);
  await assert.rejects(jail.writeText("out-file", "x"), /leads outside/);
  await assert.rejects(jail.writeText("out-dir/new.txt", "x"), /leads outside/);
  await assert.rejects(jail.writeText("out-dir/deeper/new.txt", "x"), /leads outside/);
  await assert.rejects(jail.writeText("dangling", "x"), /symlink to nothing/);
  assert.deepEqual([...Deno.readDirSync(`${dir.path}/outside`)].map((e) => e.name), ["secret.txt"]);
  assert.equal(Deno.readTextFileSync(`${dir.path}/outside/secret.txt`), "secret");

  assert.equal(new TextDecoder().decode(await jail.readBytes("in-dir/a.txt")), "inside");
  await jail.writeText("in-dir/c.txt", "via link");
  assert.equal(Deno.readTextFileSync(`${dir.path}/ws/sub/c.txt`), "via link");
});

Deno.test("a root reached through a symlink is still its own root", async () => {
  using dir = tempDir();
  setup(dir.path);
  Deno.symlinkSync(`${dir.path}/ws`, `${dir.path}/ws-link`);
  const jail = new Jail(`${dir.path}/ws-link`);
  assert.equal(new TextDecoder().decode(await jail.readBytes("sub/a.txt")), "inside");
});

Deno.test("size caps, directories and missing files", async () => {
  using dir = tempDir();
  const jail = setup(dir.path);
  Deno.writeFileSync(`${dir.path}/ws/big.bin`, new Uint8Array(MAX_FILE_BYTES + 1));
  await assert.rejects(jail.readBytes("big.bin"), /cannot be read/);
  await assert.rejects(jail.writeText("big.txt", "x".repeat(MAX_FILE_BYTES + 1)), /cannot be written/);
  assert.equal(await jail.writeText("max.txt", "x".repeat(MAX_FILE_BYTES)), MAX_FILE_BYTES);
  await assert.rejects(jail.readBytes("sub"), /is a directory/);
  await assert.rejects(jail.writeText("sub", "x"), /is a directory/);
  await assert.rejects(jail.writeText("sub/a.txt/x", "x"), /not a directory/);
  await assert.rejects(jail.list("sub/a.txt"), /not a directory/);
  await assert.rejects(jail.readBytes("nope.txt"), /no such file/);
  await assert.rejects(jail.writeText("", "x"), /file path is required/);
});

// Found by tests/fuzz/actions_fuzz_test.ts: a name over the OS limit or a symlink loop escaped as a raw
// Deno error (an untyped "… failed" for the model) that named the host path of the workspace.
Deno.test("filesystem failures are ToolErrors that name the given path, never the host one", async () => {
  using dir = tempDir();
  const jail = setup(dir.path);
  Deno.symlinkSync("loop", `${dir.path}/ws/loop`);
  const long = "a".repeat(300);
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ["read a long name", () => jail.readBytes(long), /name is too long/],
    ["write a long name", () => jail.writeText(`sub/${long}`, "x"), /name is too long/],
    ["list a long name", () => jail.list(long), /name is too long/],
    ["read through a loop", () => jail.readBytes("loop/x"), /symbolic links/],
    ["write through a loop", () => jail.writeText("loop/x", "x"), /symbolic links/],
    ["list a loop", () => jail.list("loop"), /symbolic links/],
  ];
  for (const [what, run, reason] of cases) {
    const err = await run().then(() => undefined, (e) => e);
    assert.ok(err instanceof ToolError, `${what}: ${err}`);
    assert.match(err.message, reason, what);
    assert.ok(!err.message.includes(dir.path), `${what} shows the host path: ${err.message}`);
  }
  assert.deepEqual(Deno.readDirSync(`${dir.path}/outside`).toArray().map((e) => e.name), ["secret.txt"]);
});
