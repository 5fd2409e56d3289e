import assert from "node:assert/strict";
import { DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import { tempDir } from "../tests/support/mod.ts";
import { defaultChatId } from "./chat.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";
import { servedFakePlane } from "../tests/support/served_plane.ts";

Deno.test("files list|get: a conversation's workspace by agent or session; links out, binary and overwrites refused", async () => {
  await using t = await servedFakePlane();
  using out = tempDir();
  const cli = async (...args: string[]) => {
    const io = captureIo();
    const code = await runCli([...args, ...t.flags], io);
    return { code, out: io.stdout, err: io.stderr.join("\n") };
  };
  const none = await cli("files", "list", DEMO_AGENT_ID);
  assert.equal(none.code, 1);
  assert.match(
    none.err,
    new RegExp(`no conversation with ${DEMO_AGENT_ID} in chat cli-${DEMO_AGENT_ID} yet`),
  );

  const sent = await t.plane.webChat.send({
    agentGroupId: DEMO_AGENT_ID,
    conversationId: defaultChatId(DEMO_AGENT_ID),
    text: "write me a report",
  });
  const sessionId = sent.outcomes[0].sessionId!;
  // What the agent left: a report (with an escape sequence), a binary file, a link to a host secret.
  const ws = await t.plane.sandboxes.workspaceDir(sessionId, DEMO_AGENT_ID);
  await Deno.mkdir(`${ws}/out`, { recursive: true });
  await Deno.writeTextFile(`${ws}/out/report.md`, "# Report\x1b]52;c;cHduZWQ=\x07\nall good\n");
  await Deno.writeFile(`${ws}/photo.bin`, new Uint8Array([0xff, 0xfe, 0x00, 0x01]));
  await Deno.writeTextFile(`${out.path}/secret`, "host secret");
  await Deno.symlink(`${out.path}/secret`, `${ws}/secret-link`);

  const listed = await cli("files", "list", DEMO_AGENT_ID);
  assert.equal(listed.code, 0, listed.err);
  assert.match(listed.out[0], /^SIZE\s+MODIFIED\s+PATH$/);
  const rows = listed.out.slice(1, -1).map((l) => l.split(/\s+/).at(-1));
  assert.deepEqual(rows, ["out/", "photo.bin", "secret-link", "out/report.md"]);
  assert.match(listed.out.find((l) => l.endsWith("secret-link"))!, /^symlink\s/);
  assert.match(listed.out.at(-1)!, new RegExp(`^4 entries, \\d+ bytes in files \\(session ${sessionId}\\)$`));
  const json = JSON.parse((await cli("files", "list", sessionId, "--json")).out.join("\n"));
  assert.equal(json.sessionId, sessionId);
  assert.equal(json.entries.find((e: { path: string }) => e.path === "photo.bin").size, 4);

  const report = await cli("files", "get", DEMO_AGENT_ID, "out/report.md");
  assert.equal(report.code, 0, report.err);
  assert.deepEqual(
    report.out,
    ["# Report\\u001b]52;c;cHduZWQ=\\u0007", "all good"],
    "the agent's text cannot drive the terminal",
  );

  const link = await cli("files", "get", sessionId, "secret-link");
  assert.equal(link.code, 1);
  assert.match(link.err, /secret-link: it is a symbolic link \(never followed\)/);
  assert.ok(!link.err.includes("host secret"));
  const binary = await cli("files", "get", DEMO_AGENT_ID, "photo.bin");
  assert.equal(binary.code, 1);
  assert.match(binary.err, /photo\.bin is not text \(4 bytes\): use --out FILE/);
  const saved = await cli("files", "get", DEMO_AGENT_ID, "photo.bin", "--out", `${out.path}/photo.bin`);
  assert.equal(saved.code, 0, saved.err);
  assert.deepEqual(await Deno.readFile(`${out.path}/photo.bin`), new Uint8Array([0xff, 0xfe, 0x00, 0x01]));
  const again = await cli("files", "get", DEMO_AGENT_ID, "photo.bin", "--out", `${out.path}/photo.bin`);
  assert.match(again.err, /exists: choose a new --out/);
  const escape = await cli("files", "get", DEMO_AGENT_ID, "../../../etc/passwd");
  assert.match(escape.err, /without '\.\.'/);
  const missing = await cli("files", "get", DEMO_AGENT_ID, "nope.txt");
  assert.match(missing.err, /nope\.txt: no such file/);
});
