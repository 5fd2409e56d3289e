/**
 * kill -9 mid-approval: a control plane records a human's approval of a
 * change (durably: the change store and the audit line) and is SIGKILLed
 * before applying it. `serve` restarted on the same state directory applies
 * it exactly once: the registry shows the change, the audit chain verifies
 * and holds one apply line for it; a second restart applies nothing again.
 */
import assert from "node:assert/strict";
import { faultDir, startServe } from "./serve_process.ts";
import { answered, okBody } from "../support/api.ts";

const script = new URL("./approve_then_die.ts", import.meta.url).pathname;

Deno.test("fault: kill -9 after an approval, before its apply: the restart applies it exactly once", async () => {
  await using dir = faultDir("ironclaw-fault-approve-");
  const stateDir = `${dir.path}/state`;
  const instructions = "Answer in haiku, always.";
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, stateDir, instructions],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(out.signal, "SIGKILL", decode(out.stderr));
  const id = decode(out.stdout).trim();
  assert.match(id, /^chg_/, decode(out.stderr));

  for (const round of [1, 2]) {
    await using serve = await startServe(stateDir);
    const change = await answered(serve.api.v1.changes[":id"].$get({ param: { id: id } }));
    assert.equal(change.status, 200, JSON.stringify(change.body));
    assert.equal(change.body.status, "applied", `round ${round}: ${JSON.stringify(change.body)}`);
    const agent = await answered(
      serve.api.v1.registry["agent-groups"][":id"].$get({ param: { id: "demo" } }),
    );
    assert.equal(agent.status, 200, JSON.stringify(agent.body));
    assert.equal(agent.body.personaDocs.instructions, instructions, JSON.stringify(agent.body));
    const verify = await answered(serve.api.v1.audit.verify.$get());
    assert.equal(verify.status, 200, JSON.stringify(verify.body));
    assert.equal(verify.body.ok, true, JSON.stringify(verify.body));
    const audit = await okBody(serve.api.v1.audit.$get({ query: { limit: "2000" } }));
    const stages = audit.filter((e) => e.changeId === id).map((e) => e.stage);
    assert.deepEqual(
      stages,
      ["submit", "verdict", "decision", "registry", "apply"],
      `round ${round}: ${serve.output()}`,
    );
    if (round === 1) assert.match(serve.output(), /applied 1 change\(s\) interrupted before a restart/);
    else assert.doesNotMatch(serve.output(), /interrupted before a restart/);
  }
});
