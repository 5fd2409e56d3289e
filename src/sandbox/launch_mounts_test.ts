import assert from "node:assert/strict";
import { tempDir } from "../../tests/support/mod.ts";
import { LaunchMountError, resolveLaunchMounts } from "./launch_mounts.ts";

Deno.test("launch mounts: resolved to real paths; one moved out since its approval stops the launch, named, in one line", () => {
  using dir = tempDir();
  const prefix = `${dir.path}/srv`;
  for (const d of ["srv/docs", "srv/out", "elsewhere"]) {
    Deno.mkdirSync(`${dir.path}/${d}`, { recursive: true });
  }
  const policy = { allowedSourcePrefixes: [prefix] };
  const mounts = [
    { name: "docs", source: `${prefix}/docs`, readonly: true },
    { name: "out", source: `${prefix}/out`, readonly: false },
  ];
  const real = Deno.realPathSync(prefix);
  assert.deepEqual(resolveLaunchMounts({ agentGroupId: "home", mounts }, policy), [
    { name: "docs", source: `${real}/docs`, readonly: true },
    { name: "out", source: `${real}/out`, readonly: false },
  ]);
  Deno.removeSync(`${prefix}/out`);
  Deno.symlinkSync(`${dir.path}/elsewhere`, `${prefix}/out`);
  assert.throws(() => resolveLaunchMounts({ agentGroupId: "home", mounts }, policy), (err: unknown) => {
    assert.ok(err instanceof LaunchMountError);
    assert.match(
      err.message,
      /^mount out refused at launch: .*a symlink leads out; fix the directory or remove the mount \(ironclaw agent unmount home --name out\)$/,
    );
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
  assert.throws(
    () => resolveLaunchMounts({ agentGroupId: "home", mounts }, undefined),
    /this host binds no mounts/,
  );
  assert.deepEqual(resolveLaunchMounts({ agentGroupId: "home", mounts: [] }, undefined), []);
});
