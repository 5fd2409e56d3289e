/**
 * Fault: the state directory's filesystem fills up. Writes must fail loudly
 * (a clear error answer, the control plane still serving) and leave nothing
 * half-written: after space comes back and the plane restarts, the state
 * database opens, the audit chain verifies, and every change the API
 * accepted is whole (recorded, audited, decidable).
 */
import assert from "node:assert/strict";
import { createApiApp } from "../../src/api/mod.ts";
import { ControlPlane } from "../../src/control_plane/mod.ts";
import { callApp, NO_RATE_LIMIT, TEST_TOKEN } from "../support/api.ts";
import { LIBRARY } from "../support/mod.ts";

const SIZE = "12m";

function run(cmd: string, ...args: string[]): boolean {
  return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
}

/** Fills the filesystem of `dir` to the last byte with `name` (the file can be deleted to free it). */
function fill(dir: string, name = "filler"): void {
  const file = Deno.openSync(`${dir}/${name}`, { write: true, create: true });
  const block = new Uint8Array(64 * 1024);
  try {
    for (let size = block.length; size >= 1;) {
      try {
        file.writeSync(block.subarray(0, size));
      } catch {
        size = Math.floor(size / 2);
      }
    }
  } finally {
    file.close();
  }
}

Deno.test({
  name: "fault: a full state directory fails writes loudly, leaves nothing half-written, and recovers",
  ignore: Deno.uid() !== 0, // mounting a small tmpfs needs root (CI runs as root)
  fn: async () => {
    const mount = Deno.makeTempDirSync({ prefix: "ironclaw-full-" });
    assert.ok(run("mount", "-t", "tmpfs", "-o", `size=${SIZE},mode=0700`, "tmpfs", mount), "mount a tmpfs");
    try {
      const stateDir = `${mount}/state`;
      let plane = await ControlPlane.open({ stateDir, dev: true, library: LIBRARY, background: false });
      let app = createApiApp(plane, { token: TEST_TOKEN, rateLimit: NO_RATE_LIMIT });
      const submit = (n: number) =>
        callApp(app, "POST", "/v1/changes", {
          body: {
            kind: "persona",
            agentGroupId: "demo",
            requestedBy: "test:full-disk",
            after: { soul: `v${n}` },
          },
        });
      const before = await submit(0);
      assert.equal(before.status, 202, JSON.stringify(before.body));

      fill(mount);
      const answers = [];
      for (let n = 1; n <= 20; n++) answers.push(await submit(n));
      const failed = answers.filter((a) => a.status !== 202);
      assert.ok(failed.length > 0, "with no space left, writes fail");
      for (const a of failed) {
        assert.equal(a.status, 507, JSON.stringify(a.body));
        assert.match(a.body.error, /^the state directory is out of space/);
      }
      const health = await callApp(app, "GET", "/healthz");
      assert.equal(health.status, 200, "the plane still serves");
      const accepted = [before, ...answers.filter((a) => a.status === 202)].map((a) => a.body.request.id);
      await plane.close().catch(() => {}); // closing may itself fail to write: the restart must cope

      Deno.removeSync(`${mount}/filler`);
      plane = await ControlPlane.open({ stateDir, dev: true, library: LIBRARY, background: false });
      try {
        app = createApiApp(plane, { token: TEST_TOKEN, rateLimit: NO_RATE_LIMIT });
        const verify = await callApp(app, "GET", "/v1/audit/verify");
        assert.equal(verify.body.ok, true, JSON.stringify(verify.body));
        const pending = (await callApp(app, "GET", "/v1/changes/pending")).body.map(
          (r: { request: { id: string } }) => r.request.id,
        );
        // Everything accepted is still there and whole; nothing refused left a trace.
        assert.deepEqual(pending.sort(), [...accepted].sort());
        const audit = (await callApp(app, "GET", "/v1/audit?limit=2000")).body;
        const audited = new Set(
          audit.filter((e: { stage: string }) => e.stage === "submit").map((e: { changeId: string }) =>
            e.changeId
          ),
        );
        assert.deepEqual([...audited].sort(), [...accepted].sort(), "the audit log matches the change store");
        const decided = await callApp(app, "POST", `/v1/changes/${accepted[0]}/decision`, {
          body: { outcome: "approve", decidedBy: "test:human" },
        });
        assert.equal(decided.status, 200, JSON.stringify(decided.body));
        assert.equal(decided.body.record.status, "applied");
      } finally {
        await plane.close();
      }
    } finally {
      run("umount", "-l", mount);
      Deno.removeSync(mount, { recursive: true });
    }
  },
});
