import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../../tests/support/mod.ts";
import { createPrivateFile, privateFileProblem, replacePrivateFile } from "./private_file.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("a stale staging file from a crash does not block or leak into the next write", async () => {
  using dir = tempDir();
  const path = join(dir.path, "f");
  await Deno.writeTextFile(`${path}.tmp`, "torn", { mode: 0o644 });
  await createPrivateFile(path, bytes("one"));
  await Deno.writeTextFile(`${path}.tmp`, "torn");
  await replacePrivateFile(path, bytes("two"));
  assert.equal(await Deno.readTextFile(path), "two");
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["f"]);
});

Deno.test("privateFileProblem accepts owner-only files and names the rest", async () => {
  using dir = tempDir();
  const path = join(dir.path, "f");
  await createPrivateFile(path, bytes("x"));
  assert.equal(privateFileProblem(path, await Deno.stat(path)), undefined);
  await Deno.chmod(path, 0o604);
  assert.equal(
    privateFileProblem(path, await Deno.stat(path)),
    `is accessible to group or other (mode 0604); run: chmod 600 ${path}`,
  );
  assert.equal(privateFileProblem(dir.path, await Deno.stat(dir.path)), "is not a regular file");
});
