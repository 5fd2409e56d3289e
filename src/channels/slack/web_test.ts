import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { scrubSlack, SlackWeb } from "./web.ts";

Deno.test("slack web: tokens are scrubbed from text; the bot token goes only to Slack's hosts or the API server", () => {
  assert.equal(
    scrubSlack("auth xoxb-123-abc failed; app xapp-1-A-2-zz", []),
    "auth [REDACTED] failed; app [REDACTED]",
  );
  assert.equal(scrubSlack("secret=s3cret!", ["s3cret!"]), "secret=[REDACTED]");
  const web = new SlackWeb("xoxb-1", { apiRoot: "http://127.0.0.1:8080/api", log: getLogger(["test"]) });
  assert.ok(web.mayFetch("https://files.slack.com/files-pri/T1-F1/report.pdf"));
  assert.ok(web.mayFetch("http://127.0.0.1:8080/files-pri/F1/x"));
  assert.ok(!web.mayFetch("https://evil.example/steal"));
  assert.ok(!web.mayFetch("http://files.slack.com/x"), "never in the clear");
  assert.ok(!web.mayFetch("https://slack.com.evil.example/x"));
});
