import assert from "node:assert/strict";
import { tempDir } from "../../tests/support/mod.ts";
import { chooseIsolator, givenIsolator, UnsandboxedRefusedError } from "./isolator_choice.ts";
import { FakeIsolator } from "../../tests/support/fake_isolator.ts";

Deno.test("the process backend is refused outside development, and labelled as no sandbox inside it", async () => {
  using dir = tempDir();
  await assert.rejects(
    chooseIsolator({ preference: "process", stateDir: dir.path }),
    UnsandboxedRefusedError,
  );
  const dev = await chooseIsolator({ preference: "process", dev: true, stateDir: dir.path });
  assert.equal(dev.isolator.kind, "process");
  assert.equal(dev.weaker, true);
  assert.match(dev.label, /NO SANDBOX, weaker than runsc and bwrap; development only/);
});

Deno.test("a given backend is described like a chosen one", () => {
  const choice = givenIsolator(new FakeIsolator());
  assert.equal(choice.weaker, true);
  assert.match(choice.label, /process as given/);
});
