import assert from "node:assert/strict";
import { tempDir } from "../../tests/support/mod.ts";
import { MountPathError, resolveMountSource } from "./host_path.ts";

/** A host laid out as an operator would: an allowed prefix, a directory outside it, a state directory. */
function layout(root: string) {
  for (const d of ["srv/docs/sub", "elsewhere", "state/keys", "state/mounts/notes"]) {
    Deno.mkdirSync(`${root}/${d}`, { recursive: true });
  }
  return { prefix: `${root}/srv`, real: Deno.realPathSync(root) };
}

Deno.test("resolveMountSource: a directory under a prefix resolves to its real path", () => {
  using dir = tempDir();
  const { prefix, real } = layout(dir.path);
  const policy = { allowedSourcePrefixes: [prefix] };
  assert.equal(resolveMountSource(`${prefix}/docs`, policy), `${real}/srv/docs`);
  assert.equal(resolveMountSource(`${prefix}//docs/./sub/`, policy), `${real}/srv/docs/sub`);
  // A symlink that stays inside the prefixes is followed, and the real directory is what gets bound.
  Deno.symlinkSync("docs/sub", `${prefix}/alias`);
  assert.equal(resolveMountSource(`${prefix}/alias`, policy), `${real}/srv/docs/sub`);
  // A prefix that is itself a symlink counts at its real path.
  Deno.symlinkSync(`${dir.path}/srv`, `${dir.path}/srv-link`);
  assert.equal(
    resolveMountSource(`${dir.path}/srv-link/docs`, { allowedSourcePrefixes: [`${dir.path}/srv-link`] }),
    `${real}/srv/docs`,
  );
});

Deno.test("resolveMountSource: outside the prefixes, '..', a symlink out, a file or nothing is refused in one line", () => {
  using dir = tempDir();
  const { prefix } = layout(dir.path);
  const policy = { allowedSourcePrefixes: [prefix] };
  Deno.symlinkSync(`${dir.path}/elsewhere`, `${prefix}/escape`);
  Deno.symlinkSync("../../elsewhere", `${prefix}/docs/up`);
  Deno.writeTextFileSync(`${prefix}/file.txt`, "x");
  const refused: [string, RegExp][] = [
    [`${dir.path}/elsewhere`, /outside the allowed prefixes .*serve --mount-prefix/],
    [`${prefix}X`, /outside the allowed prefixes/],
    [`${prefix}/docs/../../elsewhere`, /without '\.\.'/],
    ["srv/docs", /must be an absolute path/],
    [`${prefix}/escape`, /resolves to .*elsewhere, outside the allowed prefixes .*a symlink leads out/],
    [`${prefix}/docs/up`, /a symlink leads out/],
    [`${prefix}/file.txt`, /is not a directory/],
    [`${prefix}/missing`, /does not exist/],
  ];
  for (const [source, message] of refused) {
    assert.throws(() => resolveMountSource(source, policy), (err: unknown) => {
      assert.ok(err instanceof MountPathError, source);
      assert.match(err.message, message, source);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  }
});

Deno.test("resolveMountSource: a target moved out after approval is refused the next time it is resolved", () => {
  using dir = tempDir();
  const { prefix } = layout(dir.path);
  const policy = { allowedSourcePrefixes: [prefix] };
  assert.ok(resolveMountSource(`${prefix}/docs`, policy));
  Deno.renameSync(`${prefix}/docs`, `${dir.path}/elsewhere/docs`);
  Deno.symlinkSync(`${dir.path}/elsewhere/docs`, `${prefix}/docs`);
  assert.throws(() => resolveMountSource(`${prefix}/docs`, policy), /a symlink leads out/);
  Deno.removeSync(`${prefix}/docs`);
  assert.throws(() => resolveMountSource(`${prefix}/docs`, policy), /does not exist/);
});

Deno.test("resolveMountSource: nothing that holds the state directory or lies in it, but its mounts/", () => {
  using dir = tempDir();
  layout(dir.path);
  const stateDir = `${dir.path}/state`;
  const policy = { allowedSourcePrefixes: [dir.path], stateDir };
  assert.ok(resolveMountSource(`${stateDir}/mounts/notes`, policy));
  assert.throws(() => resolveMountSource(`${stateDir}/keys`, policy), /lies in the state directory/);
  assert.throws(() => resolveMountSource(stateDir, policy), /holds the state directory/);
  assert.throws(() => resolveMountSource(dir.path, policy), /holds the state directory/);
});
