import assert from "node:assert/strict";
import { tempDir } from "../tests/support/mod.ts";
import { LaunchError } from "./errors.ts";
import { sessionBinds } from "./plan.ts";
import { ProcessIsolator } from "./process.ts";
import { resolveSpec } from "./spec.ts";
import { DEFAULT_LIMITS, type LaunchSpec } from "./types.ts";

/** A launch spec over real (empty) host paths under `dir`. */
function spec(dir: string, mounts: LaunchSpec["mounts"]): LaunchSpec {
  for (const d of ["in", "out", "ws", "mem", "sock", "docs"]) Deno.mkdirSync(`${dir}/${d}`);
  for (const f of ["lib.so", "agent.js"]) Deno.writeTextFileSync(`${dir}/${f}`, "");
  return {
    sessionId: "sess_1",
    inboundDir: `${dir}/in`,
    outboundDir: `${dir}/out`,
    key: { file: `${dir}/key` },
    workspaceDir: `${dir}/ws`,
    memoryDir: `${dir}/mem`,
    socketDir: `${dir}/sock`,
    library: `${dir}/lib.so`,
    denoPath: Deno.execPath(),
    program: `${dir}/agent.js`,
    limits: { ...DEFAULT_LIMITS },
    mounts,
  };
}

Deno.test("an approved mount is bound at /mounts/<name>, noexec, read-only unless approved read-write", () => {
  using dir = tempDir();
  const s = resolveSpec(
    spec(dir.path, [
      { name: "docs", source: `${dir.path}/docs`, readonly: true },
      { name: "inbox", source: `${dir.path}/ws`, readonly: false },
    ]),
    { kind: "bundle", denoPath: Deno.execPath() },
  );
  const binds = sessionBinds(s, `${dir.path}/key`, "bundle").filter((b) =>
    b.destination.startsWith("/mounts/")
  );
  assert.deepEqual(binds, [
    { source: `${dir.path}/docs`, destination: "/mounts/docs", writable: false, exec: false, isFile: false },
    { source: `${dir.path}/ws`, destination: "/mounts/inbox", writable: true, exec: false, isFile: false },
  ]);
});

Deno.test("a mount that is a symlink, a bad name or a repeated one fails the spec; the process backend refuses any", async () => {
  using dir = tempDir();
  const agent = { kind: "bundle", denoPath: Deno.execPath() } as const;
  const base = spec(dir.path, []);
  Deno.symlinkSync(`${dir.path}/docs`, `${dir.path}/link`);
  const bad = [
    [{ name: "docs", source: `${dir.path}/link`, readonly: true }],
    [{ name: "../up", source: `${dir.path}/docs`, readonly: true }],
    [{ name: "d", source: `${dir.path}/docs`, readonly: true }, {
      name: "d",
      source: `${dir.path}/ws`,
      readonly: true,
    }],
  ];
  for (const mounts of bad) assert.throws(() => resolveSpec({ ...base, mounts }, agent), LaunchError);
  const process = new ProcessIsolator({ stateDir: `${dir.path}/state` });
  await assert.rejects(
    () => process.launch({ ...base, mounts: [{ name: "docs", source: `${dir.path}/docs`, readonly: true }] }),
    /the process backend cannot bind mounts \(docs\): .*use runsc or bwrap, or remove the mounts/,
  );
});
