import assert from "node:assert/strict";
import { runCli } from "./program.ts";
import { captureIo } from "./output.ts";
import { servedFakePlane } from "../tests/support/served_plane.ts";
import { httpsNote } from "./console.ts";

Deno.test("console prints a one-time link that signs a browser in once", async () => {
  await using t = await servedFakePlane();
  const io = captureIo();
  assert.equal(await runCli(["console", ...t.flags], io), 0, io.stderr.join("\n"));
  const url = io.stdout[1];
  assert.match(url, new RegExp(`^${t.server.url}/ui/login\\?code=[0-9a-f]{64}$`));
  const code = new URL(url).searchParams.get("code")!;

  const signIn = () =>
    fetch(`${t.server.url}/ui/login`, {
      method: "POST",
      redirect: "manual",
      headers: { origin: t.server.url },
      body: new URLSearchParams({ code }),
    });
  const first = await signIn();
  await first.body?.cancel();
  assert.equal(first.status, 303);
  assert.match(first.headers.get("set-cookie") ?? "", /^ironclaw_console=/);
  const second = await signIn();
  await second.body?.cancel();
  assert.equal(second.status, 401, "the link works once");

  const json = captureIo();
  assert.equal(await runCli(["console", "--json", ...t.flags], json), 0);
  assert.match(JSON.parse(json.stdout.join("\n")).url, /\/ui\/login\?code=/);
});

Deno.test("console says a link to a name that is not loopback needs HTTPS (the cookie is Secure there)", () => {
  assert.equal(httpsNote("http://127.0.0.1:8787/ui/login?code=ab"), undefined);
  assert.equal(httpsNote("http://[::1]:8787/ui/login?code=ab"), undefined);
  assert.equal(httpsNote("https://claw.example/ui/login?code=ab"), undefined);
  assert.match(
    httpsNote("http://100.64.0.7:8787/ui/login?code=ab")!,
    /^100\.64\.0\.7 is not loopback: .*needs HTTPS/,
  );
});
