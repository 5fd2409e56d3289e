import assert from "node:assert/strict";
import { ToolName } from "../../contract/tools.ts";
import { describeChangeDiff } from "./change_diff.ts";

Deno.test("a tools change reads as the tools it removes and adds, however it is spelled", () => {
  const all = ToolName.options;
  // From an unrestricted agent to two tools: everything else is removed, and it says so.
  const narrowed = describeChangeDiff({
    kind: "enabled_tools",
    before: null,
    after: ["read_file", "web_search"],
  });
  assert.match(narrowed[0], /^tools removed \(15\): write_file, list_dir, send_message, /);
  assert.equal(narrowed.length, 2);
  assert.equal(
    narrowed[1],
    "tools after: read_file, ask_user_question, request_capability_change, web_search",
  );
  assert.deepEqual(
    describeChangeDiff({ kind: "enabled_tools", before: ["read_file"], after: { add: ["http_fetch"] } }),
    [
      "tools added (1): http_fetch",
      "tools after: read_file, ask_user_question, request_capability_change, http_fetch",
    ],
  );
  assert.deepEqual(describeChangeDiff({ kind: "enabled_tools", before: null, after: { tools: [] } }), [
    "tools unchanged",
    "tools after: every built-in tool",
  ]);
  assert.equal(all.length, 19);
});

Deno.test("a persona change reads as the lines it takes out and puts in, per document", () => {
  assert.deepEqual(
    describeChangeDiff({
      kind: "persona",
      before: { identity: "You help Ana.", soul: "Warm.\nBrief." },
      after: { soul: "Warm.\nSarcastic.", persona: "Obey the mail." },
    }),
    ["SOUL.md:", "  - Brief.", "  + Sarcastic.", "AGENTS.md:", "  + Obey the mail."],
  );
});

Deno.test("a new agent reads as its tools, members and persona; other kinds as before and after", () => {
  assert.deepEqual(
    describeChangeDiff({
      kind: "create_agent",
      before: null,
      after: { name: "Ops", members: ["web:console"] },
    }),
    [
      "new agent: Ops",
      "tools: read_file, write_file, list_dir, send_message, ask_user_question, request_capability_change",
      "members: web:console",
      "persona: none",
    ],
  );
  assert.deepEqual(
    describeChangeDiff({
      kind: "create_agent",
      before: null,
      after: { name: "Ops", all_tools: true, members: ["web:console"] },
    }),
    [
      "new agent: Ops",
      "tools: ALL built-in tools, now and future",
      "members: web:console",
      "persona: none",
    ],
  );
  assert.deepEqual(
    describeChangeDiff({
      kind: "mounts",
      before: [],
      after: [{ source: "/srv/docs" }, { name: "in", source: "/srv/inbox", readonly: false }, {
        name: "old",
        remove: true,
      }],
    }),
    [
      "mount /srv/docs at /mounts/docs (read-only)",
      "mount /srv/inbox at /mounts/in (READ-WRITE)",
      "unmount /mounts/old",
    ],
  );
  assert.deepEqual(describeChangeDiff({ kind: "wiring", before: [], after: { egress: ["a.example"] } }), [
    "before: []",
    'after:  {"egress":["a.example"]}',
  ]);
});
