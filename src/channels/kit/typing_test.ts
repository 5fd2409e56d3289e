import assert from "node:assert/strict";
import { TypingIndicator } from "./typing.ts";

Deno.test("typing: shown at once per chat and thread, stopped by a reply there, errors reported", async () => {
  const sent: string[] = [];
  const errors: unknown[] = [];
  const typing = new TypingIndicator({
    send: (chat, thread) => {
      sent.push(`${chat}/${thread}`);
      return chat === "bad" ? Promise.reject(new Error("blocked")) : Promise.resolve();
    },
    everyMs: 3_600_000,
    onError: (e) => errors.push(e),
  });
  await typing.start("1", null);
  await typing.start("1", null);
  await typing.start("2", "9");
  await typing.start("bad", null);
  assert.deepEqual(sent, ["1/null", "2/9", "bad/null"]);
  assert.equal(errors.length, 1);
  assert.deepEqual(typing.active(), ["1", "2/9", "bad"]);
  typing.stop("2", "9");
  typing.stop("1", "5");
  assert.deepEqual(typing.active(), ["bad"], "a reply in a thread also ends the chat-wide indicator");
  typing.stopAll();
  assert.deepEqual(typing.active(), []);
});
