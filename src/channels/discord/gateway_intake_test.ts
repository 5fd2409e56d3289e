import assert from "node:assert/strict";
import { logger } from "../../log/mod.ts";
import { type Dispatch, GatewayIntake, MAX_EVENT_ATTEMPTS } from "./gateway_intake.ts";

const session = (sessionId: string, sequence: number) => ({
  sessionId,
  sequence,
  resumeURL: "wss://resume.example",
  shardId: 0,
  shardCount: 1,
});
const event = (s: number): Dispatch => ({ t: "MESSAGE_CREATE", s, d: { n: s } });

Deno.test("gateway intake: resumes from the last event handled; a replayed event already queued is skipped", async () => {
  const handled: number[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const intake = new GatewayIntake({
    handle: async (e) => {
      if (e.s === 3) await gate;
      handled.push(e.s);
    },
    describe: String,
    log: logger("test"),
  });
  intake.update(session("A", 1));
  const first = [intake.take(event(2)), intake.take(event(3)), intake.take(event(4))];
  await new Promise((resolve) => setTimeout(resolve, 10));
  // Event 3 is in progress: a resume now asks Discord for everything after 2.
  assert.equal(intake.retrieve()!.sequence, 2);
  // Discord replays 3 and 4 (queued already) and 5 (new): only 5 is added.
  await Promise.all([intake.take(event(3)), intake.take(event(4))]);
  const replay = intake.take(event(5));
  release();
  await Promise.all([...first, replay]);
  assert.deepEqual(handled, [2, 3, 4, 5]);
  assert.equal(intake.retrieve()!.sequence, 5);

  // A new session numbers from its READY again.
  intake.update(session("B", 1));
  assert.equal(intake.retrieve()!.sequence, 1);
  await intake.take(event(2));
  assert.deepEqual(handled, [2, 3, 4, 5, 2]);
  intake.update(null);
  assert.equal(intake.retrieve(), null);
});

Deno.test("gateway intake: an event that keeps failing is skipped after its attempts; the next goes on", async () => {
  let attempts = 0;
  const intake = new GatewayIntake({
    handle: (e) => {
      if (e.s === 2) {
        attempts++;
        return Promise.reject(new Error("boom"));
      }
      return Promise.resolve();
    },
    describe: String,
    log: logger("test"),
  });
  intake.update(session("A", 1));
  await intake.take(event(2));
  await intake.take(event(3));
  assert.equal(attempts, MAX_EVENT_ATTEMPTS);
  assert.equal(intake.retrieve()!.sequence, 3);
});
