import assert from "node:assert/strict";
import {
  AskUserRequest,
  formatAskUserRequest,
  formatScheduleRequest,
  formatSystemAction,
  parseSystemAction,
  ScheduleRequest,
  systemActionName,
} from "./actions.ts";

Deno.test("wire formats are reproduced byte for byte", () => {
  assert.equal(
    formatSystemAction({ action: "persona", payload: { persona: "helpful" }, reason: "tone tweak" }),
    `{"action":"persona","payload":{"persona":"helpful"},"reason":"tone tweak"}`,
  );
  assert.equal(
    formatScheduleRequest({
      prompt: "summarize my inbox",
      run_at: "2026-06-16T09:00:00Z",
      recurrence: "daily",
    }),
    `{"action":"schedule_task","prompt":"summarize my inbox","run_at":"2026-06-16T09:00:00Z","recurrence":"daily"}`,
  );
  assert.equal(
    formatAskUserRequest({ question: "Proceed?" }),
    `{"action":"ask_user_question","question":"Proceed?"}`,
  );
});

Deno.test("optional envelope fields are omitted when empty", () => {
  assert.equal(formatSystemAction({ action: "list_tasks" }), `{"action":"list_tasks"}`);
  assert.equal(formatSystemAction({ action: "typing", reason: "" }), `{"action":"typing"}`);
  assert.equal(
    formatAskUserRequest({ question: "Pick", options: [" a ", "", "b"], allow_freeform: true }),
    `{"action":"ask_user_question","question":"Pick","options":["a","b"],"allow_freeform":true}`,
  );
  assert.equal(
    formatScheduleRequest({ prompt: "now", run_at: "" }),
    `{"action":"schedule_task","prompt":"now","run_at":""}`,
  );
});

Deno.test("system action parsing is total", () => {
  assert.equal(systemActionName(`{"action":"install_packages","payload":{}}`), "install_packages");
  assert.equal(systemActionName("  typing  "), "typing");
  assert.equal(systemActionName("{not json"), "{not json");
  assert.equal(systemActionName(""), "");
  assert.equal(systemActionName(`{"payload":{}}`), `{"payload":{}}`);
  assert.equal(systemActionName(`{"action":"Set_Persona"}`), "set_persona");
  assert.deepEqual(parseSystemAction(`{"action":"wiring","payload":{"egress":["a.com"]},"reason":"why"}`), {
    action: "wiring",
    payload: { egress: ["a.com"] },
    reason: "why",
  });
});

Deno.test("format then parse round-trips", () => {
  const action = { action: "mounts", payload: [{ source: "/srv/data" }], reason: "needs data" };
  assert.deepEqual(parseSystemAction(formatSystemAction(action)), action);
});

Deno.test("schedule and question bodies validate", () => {
  assert.ok(
    ScheduleRequest.safeParse(JSON.parse(formatScheduleRequest({ prompt: "x", run_at: "" }))).success,
  );
  assert.equal(
    ScheduleRequest.safeParse({ action: "schedule_task", prompt: " ", run_at: "" }).success,
    false,
  );
  assert.equal(
    ScheduleRequest.safeParse({ action: "schedule_task", prompt: "x", run_at: "tomorrow" }).success,
    false,
  );
  assert.equal(
    ScheduleRequest.safeParse({ action: "schedule_task", prompt: "x", run_at: "", recurrence: "-5m" })
      .success,
    false,
  );
  assert.equal(
    ScheduleRequest.safeParse({ action: "schedule_task", prompt: "x", run_at: "", script: "rm -rf /" })
      .success,
    false,
  );
  assert.equal(AskUserRequest.safeParse({ action: "ask_user_question", question: "" }).success, false);
});
