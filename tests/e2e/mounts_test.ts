/**
 * Approved mounts under real runsc: `ironclaw agent mount` proposes a
 * read-only `docs`, a human approves it; the agent, through the mock model's
 * `tool:` form, lists it at /mounts; a read-write `inbox` approved through
 * the API while the sandbox runs restarts it with both; the agent reads
 * /mounts/docs/a.txt, is refused a write there, and writes into
 * /mounts/inbox, where the host sees the file.
 */
import assert from "node:assert/strict";
import { DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { SANDBOX_GID, SANDBOX_UID } from "../../isolator/mod.ts";
import { answered } from "../support/api.ts";
import { tempDir } from "../support/mod.ts";
import { approveChange, backendWorks, nextReplies, pendingChanges, runIronclaw } from "./harness.ts";
import { openPlane } from "./plane.ts";

Deno.test({
  name: "mounts: an approved read-only mount is listed and read, not written; a read-write one is (runsc)",
  ignore: !(await backendWorks("runsc")),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    using dir = tempDir("ironclaw-e2e-mounts-");
    // The default prefix, <state-dir>/mounts; a read-write mount must be writable by the sandbox's uid.
    const docs = `${dir.path}/mounts/docs`;
    const inbox = `${dir.path}/mounts/inbox`;
    for (const d of [docs, inbox]) Deno.mkdirSync(d, { recursive: true, mode: 0o755 });
    Deno.writeTextFileSync(`${docs}/a.txt`, "the manual, page one");
    Deno.chownSync(inbox, SANDBOX_UID, SANDBOX_GID);
    await using host = await openPlane(dir.path, { isolator: "runsc" });

    const cli = await runIronclaw(host, ["agent", "mount", DEMO_AGENT_ID, "--path", docs]);
    assert.equal(cli.code, 0, cli.stderr);
    const [proposed] = await pendingChanges(host);
    assert.match(
      cli.stdout,
      new RegExp(`proposed ${proposed.request.id}: demo sees .*/docs at /mounts/docs \\(read-only\\)`),
    );
    await approveChange(host, proposed.request.id);
    const ask = async (text: string) => {
      const sent = await answered(
        host.api.v1.ui.chat.send.$post({ json: { agentGroupId: DEMO_AGENT_ID, text } }),
      );
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      const [reply] = await nextReplies(host, DEMO_AGENT_ID);
      return reply.replace(/^mock-agent tool result: /, "");
    };
    assert.deepEqual(JSON.parse(await ask('tool:list_dir {"path":"/mounts"}')), [{
      name: "docs",
      is_dir: true,
    }]);

    // Approved while the sandbox runs: it is restarted with the new mount (RESPAWN_KINDS), no stop needed.
    const rw = await answered(host.api.v1.changes.$post({
      json: {
        kind: "mounts",
        agentGroupId: DEMO_AGENT_ID,
        requestedBy: "test:op",
        after: [{ name: "inbox", source: inbox, readonly: false }],
      },
    }));
    assert.equal(rw.status, 202, JSON.stringify(rw.body));
    if (rw.status !== 202) return;
    await approveChange(host, rw.body.request.id);
    assert.deepEqual(JSON.parse(await ask('tool:list_dir {"path":"/mounts"}')), [
      { name: "docs", is_dir: true },
      { name: "inbox", is_dir: true },
    ]);
    assert.equal(await ask('tool:read_file {"path":"/mounts/docs/a.txt"}'), "the manual, page one");
    assert.match(
      await ask('tool:write_file {"path":"/mounts/docs/b.txt","content":"scribble"}'),
      /\/mounts\/docs is a read-only mount/,
    );
    assert.deepEqual([...Deno.readDirSync(docs)].map((e) => e.name), ["a.txt"]);
    assert.equal(
      await ask('tool:write_file {"path":"/mounts/inbox/from-agent.txt","content":"done, see page two"}'),
      "wrote 18 bytes to /mounts/inbox/from-agent.txt",
    );
    assert.equal(Deno.readTextFileSync(`${inbox}/from-agent.txt`), "done, see page two");
    assert.equal(Deno.statSync(`${inbox}/from-agent.txt`).uid, SANDBOX_UID);
  },
});
