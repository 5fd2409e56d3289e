import assert from "node:assert/strict";
import type { AgentGroupId, SessionId } from "../../../contract/ids.ts";
import { imageMountedAt, mountsAt, volumesUnavailable } from "../../../isolator/mod.ts";
import { tempDir } from "../../../tests/support/mod.ts";
import { groupVolumeDirs, GroupVolumes, sessionDirs, workspaceStagingDir } from "../../sandbox/mod.ts";
import { WorkspaceFiles } from "./workspace_files.ts";

const target = { sessionId: "s1" as SessionId, agentGroupId: "g1" as AgentGroupId, engaged: true };
const bytes = new TextEncoder().encode("hello");

Deno.test("workspace files: without the sandbox manager's volumes open nothing is written", async () => {
  using dir = tempDir();
  const root = `${dir.path}/sandbox`;
  const files = new WorkspaceFiles({ root });
  assert.deepEqual(await files.place(target, "a.txt", bytes), {
    ok: false,
    error: "the agent's workspace is not available",
  });
  await assert.rejects(Deno.stat(root), Deno.errors.NotFound);

  // Once they are open (plain directories here), the file lands; after they close, nothing again.
  const volumes = new GroupVolumes(root, false, { mode: 0o700 });
  const placed = await files.place(target, "a.txt", bytes);
  assert.deepEqual(placed, {
    ok: true,
    path: `${sessionDirs(root, "s1", "g1").workspaceDir}/a.txt`,
    relativePath: "a.txt",
    bytes: 5,
  });
  await volumes.close();
  assert.equal((await files.place(target, "b.txt", bytes)).ok, false);
});

Deno.test("workspace files: names are made safe and unique; what a crash left staged is swept", async () => {
  using dir = tempDir();
  const root = `${dir.path}/sandbox`;
  const volumes = new GroupVolumes(root, false, { mode: 0o700 });
  try {
    const staging = workspaceStagingDir(root, "g1");
    Deno.mkdirSync(staging, { recursive: true });
    Deno.writeTextFileSync(`${staging}/left-by-a-crash`, "x");
    const files = new WorkspaceFiles({ root, agentWorkspace: () => "/workspace" });
    const names = [];
    for (const name of ["../x/.report", "report", "report", "a.tar.gz", "a.tar.gz"]) {
      const placed = await files.place(target, name, bytes);
      assert.ok(placed.ok);
      assert.equal(placed.path, `/workspace/${placed.relativePath}`);
      names.push(placed.relativePath);
    }
    assert.deepEqual(names, ["report", "report-1", "report-2", "a.tar.gz", "a.tar-1.gz"]);
    assert.deepEqual([...Deno.readDirSync(staging)], []);
    // Taking back removes only a plain name at the workspace's top.
    const { workspaceDir } = sessionDirs(root, "s1", "g1");
    await files.withdraw(target, "report-1");
    await files.withdraw(target, "../s1/report");
    assert.deepEqual([...Deno.readDirSync(workspaceDir)].map((e) => e.name).sort(), [
      "a.tar-1.gz",
      "a.tar.gz",
      "report",
      "report-2",
    ]);
  } finally {
    await volumes.close();
  }
});

Deno.test({
  name: "workspace files: a file for a session not launched yet lands on its group's one mounted volume",
  ignore: volumesUnavailable() !== undefined,
  fn: async () => {
    using dir = tempDir();
    const root = `${dir.path}/sandbox`;
    const sizes = {
      workspaceBytes: 16 * 1024 * 1024,
      memoryBytes: 8 * 1024 * 1024,
      outboxBytes: 8 * 1024 * 1024,
    };
    const volumes = new GroupVolumes(root, sizes, { mode: 0o711 });
    const paths = groupVolumeDirs(root, "g1");
    try {
      const files = new WorkspaceFiles({ root, sandboxOwner: { uid: 65532, gid: 65532 } });
      const placed = await files.place(target, "a.txt", bytes);
      assert.ok(placed.ok);
      const mountPoint = Deno.realPathSync(paths.workspaceMount);
      assert.ok(imageMountedAt(paths.workspaceImage, mountPoint));
      // The launch that follows mounts through the same instance: still one mount, and the file is on it.
      await volumes.ensure("g1");
      assert.equal(mountsAt(mountPoint).length, 1);
      const info = Deno.statSync(placed.path);
      assert.deepEqual([info.uid, info.gid, info.mode! & 0o777], [65532, 65532, 0o644]);
    } finally {
      await volumes.close();
    }
    // Unmounted, the directory underneath holds nothing of it.
    assert.deepEqual([...Deno.readDirSync(paths.workspaceMount)], []);
  },
});
