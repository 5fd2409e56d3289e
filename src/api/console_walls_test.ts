import assert from "node:assert/strict";
import { LIBRARY } from "../../tests/support/mod.ts";
import { decideConsoleWalls } from "./console_walls.ts";

Deno.test("the console's verify walls hold against the real app: forged forms, the session cookie, framing", async () => {
  const walls = await decideConsoleWalls({ library: LIBRARY });
  assert.deepEqual(walls.map((w) => w.name), ["console-forgery", "console-session", "console-framing"]);
  for (const wall of walls) assert.ok(wall.held, `${wall.name}: ${wall.detail}`);
  const [forgery, session, framing] = walls.map((w) => w.detail);
  assert.match(
    forgery,
    /another origin's form 403, Origin: null 403, .*a rebinding Host 421, no CSRF token 403/,
  );
  assert.match(
    forgery,
    /the change still pending, the cookie opens no API route \(401\), the proper form applies$/,
  );
  assert.match(
    session,
    /HttpOnly, SameSite=Strict, Path=\/ui, not the token, Secure off loopback, dead after sign-out$/,
  );
  assert.match(framing, /\/ui\/approvals CSP, \/ui\/approvals X-Frame-Options/);
});

Deno.test("a console that cannot be attacked is no held wall", async () => {
  const walls = await decideConsoleWalls({ library: "/nonexistent/libsqlcipher.so" });
  assert.equal(walls.length, 3);
  for (const wall of walls) {
    assert.equal(wall.held, false);
    assert.match(wall.detail, /^the console could not be attacked: /);
  }
});
