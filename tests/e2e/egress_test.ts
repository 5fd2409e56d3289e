/**
 * The sealed agent reaches the web, end to end: a local HTTP server stands in
 * for a web site (let through by the operator's exact `host:port`, as
 * `serve --egress-allow-private` does); the demo agent's `http_fetch` to it is
 * refused before a human approves the host, and after its
 * `request_api_access` is approved (no respawn) the page comes back as
 * readable text. Then a keyed API: `ironclaw vault set` (value on stdin) and
 * `vault grant`, approved; the server sees the secret header, the agent's
 * reply shows it redacted, and no file of the state directory holds it in
 * plaintext. Every request leaves an egress audit line.
 */
import assert from "node:assert/strict";
import { DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { EGRESS_AUDIT_FILE } from "../../src/egress/mod.ts";
import { tempDir } from "../support/mod.ts";
import { approveChange, diagnose, pendingChanges, runIronclaw, say } from "./harness.ts";
import { openPlane } from "./plane.ts";
import { runscWorks } from "../support/runsc.ts";

const SECRET = "sk-ferry-4c0ffee-secret-value";

const PAGE =
  `<!doctype html><html><head><title>Harbour timetable</title><script>document.title="pwned"</script>
</head><body><nav>Home · Ferries · Contact</nav><main><article><h1>Summer ferries</h1>
<p>${"The first ferry leaves the north pier at seven and returns by nine in the evening. ".repeat(8)}</p>
</article></main></body></html>`;

async function egressJourney(isolator: "process" | "runsc") {
  const seenTokens: (string | null)[] = [];
  const site = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    if (new URL(req.url).pathname !== "/api/me") {
      return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    // A careless API that echoes the credential it was sent.
    seenTokens.push(req.headers.get("x-site-token"));
    return Response.json({ user: "ferry-fan", token: req.headers.get("x-site-token") });
  });
  using dir = tempDir("ironclaw-egress-e2e-");
  try {
    await using host = await openPlane(dir.path, {
      isolator,
      egress: { allowPrivate: `127.0.0.1:${site.addr.port}` },
    });
    const fetchPage = `tool:http_fetch ${
      JSON.stringify({ url: `http://127.0.0.1:${site.addr.port}/ferries` })
    }`;

    const refused = await say(host, fetchPage);
    assert.match(
      refused.reply,
      /127\.0\.0\.1 is not approved for this agent; ask for it with request_api_access/,
    );

    const asked = await say(
      host,
      `tool:request_api_access {"hosts":["127.0.0.1"],"reason":"timetables"}`,
      refused.chatId,
    );
    assert.match(asked.reply, /access to 127\.0\.0\.1/);
    const [change] = await pendingChanges(host);
    assert.deepEqual(change.request.after, { egress: ["127.0.0.1"] });
    await approveChange(host, change.request.id);

    const fetched = await say(host, fetchPage, refused.chatId);
    assert.match(fetched.reply, /status: 200/);
    assert.match(fetched.reply, /# Harbour timetable/);
    assert.match(fetched.reply, /The first ferry leaves the north pier at seven/);
    assert.doesNotMatch(fetched.reply, /<script|pwned|Home · Ferries/);
    // Live without a respawn: one launch served all three turns.
    assert.match(host.plane.metrics.render(), /^ironclaw_sandbox_launches_total 1$/m, await diagnose(host));

    // A keyed API: the secret goes in on stdin, the grant through a human.
    const set = await runIronclaw(
      host,
      ["vault", "set", "site-token", "--state-dir", dir.path],
      `${SECRET}\n`,
    );
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /stored site-token/);
    const grant = await runIronclaw(host, [
      "vault",
      "grant",
      "site-token",
      "--agent",
      DEMO_AGENT_ID,
      "--host",
      `127.0.0.1:${site.addr.port}`,
      "--header",
      "X-Site-Token",
      "--format",
      "Token {}",
      "--state-dir",
      dir.path,
    ]);
    assert.equal(grant.code, 0, grant.stderr);
    const grantId = /proposed (\S+):/.exec(grant.stdout)?.[1];
    assert.ok(grantId, grant.stdout);
    await approveChange(host, grantId);

    const call = await say(
      host,
      `tool:http_fetch ${
        JSON.stringify({
          url: `http://127.0.0.1:${site.addr.port}/api/me`,
          headers: { "X-Site-Token": "agent-guess" },
        })
      }`,
      refused.chatId,
    );
    assert.deepEqual(seenTokens, [`Token ${SECRET}`], "the server saw the vault's value, not the agent's");
    assert.match(call.reply, /ferry-fan/);
    assert.match(call.reply, /\[REDACTED\]/);
    assert.ok(!call.reply.includes(SECRET), call.reply);

    const listed = await runIronclaw(host, ["vault", "list", "--json", "--state-dir", dir.path]);
    assert.equal(JSON.parse(listed.stdout)[0].grants[0].agentGroupId, DEMO_AGENT_ID);
    assert.ok(!listed.stdout.includes(SECRET));
    const grep = await new Deno.Command("grep", { args: ["-ra", "-l", SECRET, dir.path] }).output();
    assert.equal(grep.code, 1, `the secret is in plaintext in: ${new TextDecoder().decode(grep.stdout)}`);

    const audit = (await Deno.readTextFile(`${dir.path}/${EGRESS_AUDIT_FILE}`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    const site_ = `127.0.0.1:${site.addr.port}`;
    assert.deepEqual(
      audit.map((r) => [r.tool ?? r.action, r.host ?? r.name, r.path, r.status, r.allowed, r.credential]),
      [
        ["fetch", site_, "/ferries", 403, false, undefined],
        ["fetch", site_, "/ferries", 200, true, undefined],
        ["vault.set", "site-token", undefined, undefined, undefined, undefined],
        ["fetch", site_, "/api/me", 200, true, "site-token"],
      ],
    );
  } finally {
    await site.shutdown();
  }
}

Deno.test("e2e (process backend): http_fetch refused, then approved: readable text; a vault grant reaches the server, never the agent or the disk", () =>
  egressJourney("process"));

Deno.test({
  name:
    "e2e (runsc backend): http_fetch from gVisor refused, then approved without respawn: readable text; a vault grant reaches the server, never the agent or the disk",
  ignore: !await runscWorks(),
  fn: () => egressJourney("runsc"),
});
