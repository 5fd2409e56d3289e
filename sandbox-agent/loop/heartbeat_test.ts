import assert from "node:assert/strict";
import { jsonLogger } from "../log.ts";
import { tempDir } from "../testing.ts";
import { Heartbeat } from "./heartbeat.ts";

Deno.test("a poll's beat soon after the last write skips the file; a later one and a model call's beat write it", async () => {
  using dir = tempDir();
  const path = `${dir.path}/heartbeat`;
  const heartbeat = new Heartbeat(path, { log: jsonLogger(() => {}), minIntervalMs: 200 });
  await heartbeat.beatInBackground();
  const first = Deno.readTextFileSync(path);
  Deno.removeSync(path);
  await heartbeat.beatInBackground();
  assert.throws(() => Deno.statSync(path), Deno.errors.NotFound, "a beat right after a write writes nothing");
  heartbeat.beat();
  assert.ok(Deno.statSync(path).isFile, "the model call's periodic beat always writes");
  Deno.removeSync(path);
  await new Promise((resolve) => setTimeout(resolve, 250));
  await heartbeat.beatInBackground();
  assert.ok(
    Date.parse(Deno.readTextFileSync(path)) >= Date.parse(first),
    "once the interval passed, it writes",
  );
});

Deno.test("a failed write does not count as a beat: the next poll tries again", async () => {
  using dir = tempDir();
  const lines: string[] = [];
  const missing = `${dir.path}/absent/heartbeat`;
  const heartbeat = new Heartbeat(missing, {
    log: jsonLogger((line) => lines.push(line)),
    minIntervalMs: 60_000,
  });
  await heartbeat.beatInBackground();
  Deno.mkdirSync(`${dir.path}/absent`);
  await heartbeat.beatInBackground();
  assert.ok(Deno.statSync(missing).isFile);
  assert.equal(lines.filter((l) => l.includes("heartbeat.failed")).length, 1);
});
