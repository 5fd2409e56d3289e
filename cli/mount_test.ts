import assert from "node:assert/strict";
import { Command } from "commander";
import { DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import { registerAgentCommands } from "./agent.ts";
import { absoluteMountPath } from "./mount.ts";
import { captureIo } from "./output.ts";
import { servedFakePlane } from "../tests/support/served_plane.ts";

async function agent(flags: string[], args: string[]) {
  const io = captureIo();
  const program = new Command().exitOverride();
  registerAgentCommands(program, io);
  let error: unknown;
  await program.parseAsync(["agent", ...args, ...flags], { from: "user" }).catch((err) => error = err);
  return { ...io, error: error as Error | undefined };
}

Deno.test("agent mount proposes a read-only mount a human approves, show lists it, unmount takes it away", async () => {
  await using t = await servedFakePlane();
  const docs = `${t.stateDir}/mounts/docs`;
  Deno.mkdirSync(docs, { recursive: true });

  const mount = await agent(t.flags, ["mount", DEMO_AGENT_ID, "--path", docs, "--reason", "the manuals"]);
  assert.equal(mount.error, undefined, String(mount.error));
  const [change] = t.plane.gateway.pending();
  assert.equal(change.request.kind, "mounts");
  assert.deepEqual(change.request.after, [{ name: "docs", source: docs, readonly: true }]);
  assert.deepEqual(mount.stdout, [
    `proposed ${change.request.id}: ${DEMO_AGENT_ID} sees ${docs} at /mounts/docs (read-only)`,
    `approve with: ironclaw change approve ${change.request.id}`,
  ]);
  await t.plane.gateway.decide(change.request.id, "approve", "test:human");
  const show = await agent(t.flags, ["show", DEMO_AGENT_ID]);
  assert.ok(show.stdout.includes(`mount:    /mounts/docs ← ${docs} (read-only)`), show.stdout.join("\n"));

  const rw = await agent(t.flags, ["mount", DEMO_AGENT_ID, "--path", docs, "--name", "inbox", "--rw"]);
  assert.match(rw.stdout[0], /sees .* at \/mounts\/inbox \(read-write\)$/);

  const outside = await agent(t.flags, ["mount", DEMO_AGENT_ID, "--path", "/etc"]);
  assert.match(
    outside.error!.message,
    /^the mount was refused: mount-allowlist: mount source \/etc is outside the allowed prefixes \(.*\/mounts\); serve --mount-prefix adds one$/,
  );

  const unmount = await agent(t.flags, ["unmount", DEMO_AGENT_ID, "--name", "docs"]);
  assert.equal(unmount.error, undefined, String(unmount.error));
  const removal = t.plane.gateway.pending().find((c) =>
    JSON.stringify(c.request.after).includes('"remove"')
  )!;
  assert.deepEqual(removal.request.after, [{ name: "docs", remove: true }]);
  await t.plane.gateway.decide(removal.request.id, "approve", "test:human");
  assert.deepEqual(t.plane.registry.getAgentGroup(DEMO_AGENT_ID).mounts, []);
});

Deno.test("agent mount: a relative --path is taken from the working directory", () => {
  assert.equal(absoluteMountPath("docs", "/home/ann/"), "/home/ann/docs");
  assert.equal(absoluteMountPath("/srv/docs", "/home/ann"), "/srv/docs");
  assert.throws(() => absoluteMountPath(" "), /--path: expected a directory/);
});
