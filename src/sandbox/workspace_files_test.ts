import assert from "node:assert/strict";
import { tempDir } from "../../tests/support/mod.ts";
import { listWorkspace, readWorkspaceFile, WorkspaceFileError } from "./workspace_files.ts";

/** A workspace as a hostile agent might leave it, beside a secret outside it. */
function hostileWorkspace(base: string): string {
  const ws = `${base}/ws`;
  Deno.mkdirSync(`${ws}/notes/deep`, { recursive: true });
  Deno.writeTextFileSync(`${ws}/report.txt`, "quarterly numbers");
  Deno.writeTextFileSync(`${ws}/notes/deep/todo.md`, "- buy milk");
  Deno.writeTextFileSync(`${base}/secret`, "host secret");
  Deno.mkdirSync(`${base}/outside`);
  Deno.writeTextFileSync(`${base}/outside/key`, "host key");
  Deno.symlinkSync(`${base}/secret`, `${ws}/link-to-secret`);
  Deno.symlinkSync(`${base}/outside`, `${ws}/dir-link`);
  new Deno.Command("mkfifo", { args: [`${ws}/pipe`] }).outputSync();
  return ws;
}

Deno.test("a workspace listing has sizes and types; symlinks are listed, never followed", () => {
  using dir = tempDir();
  const ws = hostileWorkspace(dir.path);
  const { entries, truncated } = listWorkspace(ws);
  assert.equal(truncated, false);
  assert.deepEqual(entries.map((e) => [e.path, e.type, e.size]), [
    ["dir-link", "symlink", 0],
    ["link-to-secret", "symlink", 0],
    ["notes", "dir", 0],
    ["pipe", "other", 0],
    ["report.txt", "file", 17],
    ["notes/deep", "dir", 0],
    ["notes/deep/todo.md", "file", 10],
  ]);
  assert.ok(!entries.some((e) => e.path.includes("key")), "nothing behind a directory link is listed");
  assert.deepEqual(listWorkspace(`${dir.path}/no-such`), { entries: [], truncated: false });
});

Deno.test("reading a workspace file: the file's bytes; links out, FIFOs, '..' and oversize are refused", () => {
  using dir = tempDir();
  const ws = hostileWorkspace(dir.path);
  assert.equal(new TextDecoder().decode(readWorkspaceFile(ws, "notes/deep/todo.md")), "- buy milk");
  const refused = (rel: string, pattern: RegExp, maxBytes?: number) =>
    assert.throws(() => readWorkspaceFile(ws, rel, { maxBytes }), (err) => {
      assert.ok(err instanceof WorkspaceFileError, String(err));
      assert.match(err.message, pattern);
      return true;
    });
  refused("link-to-secret", /symbolic link/);
  refused("dir-link/key", /outside the workspace/);
  refused("../secret", /without '\.\.'/);
  refused("/etc/passwd", /without '\.\.' or a leading '\/'/);
  refused("pipe", /not a regular file/);
  refused("notes", /not a regular file/);
  refused("missing.txt", /no such file/);
  refused("report.txt", /17 bytes, over the cap of 5/, 5);
});
