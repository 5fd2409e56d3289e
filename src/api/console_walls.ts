/**
 * `ironclaw verify`'s walls for the web console, an admin surface a web page
 * the operator visits could aim at. Checked against the real API app (the
 * one `serve` runs) over a scratch control plane with a pending change:
 *
 * - `console-forgery`: a form from another origin (a foreign `Origin`,
 *   `Origin: null`, `Sec-Fetch-Site: cross-site`), a DNS-rebinding `Host`, a
 *   missing or wrong CSRF token, no session: each refused with its status and
 *   the change still pending; the console's cookie opens no API route; and
 *   the same approval, sent properly, applies (so the refusals prove
 *   something).
 * - `console-session`: the wrong token gets no cookie; the cookie is
 *   `HttpOnly; SameSite=Strict; Path=/ui`, not the token, `Secure` when the
 *   console is reached by a name that is not loopback; sign-out kills it.
 * - `console-framing`: every page carries the strict CSP (no inline script,
 *   nothing from another origin, `frame-ancestors 'none'`) and
 *   `X-Frame-Options: DENY`, and the sign-in page holds no inline script.
 *
 * The engine (`src/verify/`) cannot import the API (the console imports it),
 * so `ironclaw verify` hands this kit to it (`VerifyOptions.kits`). It sits
 * beside `app.ts`, which it builds (and which builds the console).
 *
 * @module
 */
import { AgentGroupId } from "../../contract/ids.ts";
import { ControlPlane, DEMO_AGENT_ID } from "../control_plane/mod.ts";
import type { Wall, WallKit } from "../verify/mod.ts";
import { createApiApp } from "./app.ts";
import { allowedHostNames } from "./middleware/edge_guard.ts";
import { CONSOLE_CSP, SESSION_COOKIE } from "./console/mod.ts";

/** The console's kit. */
export const consoleWalls: WallKit = {
  name: "console",
  arm: () => ({ decide: () => decideConsoleWalls() }),
};

/** The console's walls, decided on a scratch control plane. */
export async function decideConsoleWalls(options: { library?: string } = {}): Promise<Wall[]> {
  const stateDir = await Deno.makeTempDir({ prefix: "ironclaw-verify-console-" });
  let plane: ControlPlane | undefined;
  try {
    plane = await ControlPlane.open({ stateDir, dev: true, background: false, library: options.library });
    return await attack(plane);
  } catch (err) {
    const detail = `the console could not be attacked: ${err instanceof Error ? err.message : String(err)}`;
    return WALL_NAMES.map((name) => ({ name, held: false, detail }));
  } finally {
    await plane?.close();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}

const WALL_NAMES = ["console-forgery", "console-session", "console-framing"] as const;

/** As if serving on 127.0.0.1:8787 with `--api-host console.example` (a TLS proxy's public name). */
const HOST = "127.0.0.1:8787";
const PUBLIC_HOST = "console.example";

/** One wall's findings: what was refused as it must be, and what got through. */
class Findings {
  readonly caught: string[] = [];
  readonly breaches: string[] = [];

  expect(what: string, ok: boolean, got: string) {
    (ok ? this.caught : this.breaches).push(ok ? what : `${what}: ${got}`);
  }

  wall(name: string, note: string): Wall {
    return this.breaches.length
      ? { name, held: false, detail: this.breaches.join("; ") }
      : { name, held: true, detail: `${note}; ${this.caught.length} checks: ${this.caught.join(", ")}` };
  }
}

async function attack(plane: ControlPlane): Promise<Wall[]> {
  const token = crypto.randomUUID();
  const app = createApiApp(plane, { token, allowedHosts: allowedHostNames("127.0.0.1", [PUBLIC_HOST]) });
  const send = async (
    method: string,
    path: string,
    options: { headers?: Record<string, string>; form?: Record<string, string> } = {},
  ) => {
    const headers = { host: HOST, ...options.headers };
    const body = options.form ? new URLSearchParams(options.form) : undefined;
    const answer = await app.fetch(new Request(`http://${headers.host}${path}`, { method, headers, body }));
    return { status: answer.status, headers: answer.headers, text: await answer.text() };
  };
  const sameOrigin = { origin: `http://${HOST}` };

  // Signed in as a browser on this origin, with the page's CSRF token.
  const login = await send("POST", "/ui/login", { form: { token }, headers: sameOrigin });
  const setCookie = login.headers.get("set-cookie") ?? "";
  const cookie = setCookie.split(";")[0];
  const page = await send("GET", "/ui/approvals", { headers: { cookie } });
  const csrf = /name="_csrf" value="([0-9a-f]+)"/.exec(page.text)?.[1];
  if (login.status !== 303 || !cookie.startsWith(`${SESSION_COOKIE}=`) || !csrf) {
    throw new Error(`signing in with the token did not work (${login.status}, page ${page.status})`);
  }
  const change = await plane.gateway.submit({
    kind: "persona",
    agentGroupId: AgentGroupId.parse(DEMO_AGENT_ID),
    requestedBy: "verify:console",
    after: { instructions: "Approved by a forged form." },
  });
  const approve = `/ui/approvals/${change.request.id}`;

  const forgery = new Findings();
  const forged: [string, number, Record<string, string>, Record<string, string>][] = [
    ["another origin's form", 403, { cookie, origin: "http://evil.example" }, { _csrf: csrf }],
    ["Origin: null", 403, { cookie, origin: "null" }, { _csrf: csrf }],
    ["Sec-Fetch-Site: cross-site", 403, { cookie, "sec-fetch-site": "cross-site" }, { _csrf: csrf }],
    ["a rebinding Host", 421, { cookie, host: "evil.example:8787", origin: "http://evil.example:8787" }, {
      _csrf: csrf,
    }],
    ["no CSRF token", 403, { cookie, ...sameOrigin }, {}],
    ["a wrong CSRF token", 403, { cookie, ...sameOrigin }, { _csrf: "0".repeat(csrf.length) }],
    ["no session", 401, sameOrigin, { _csrf: csrf }],
  ];
  for (const [what, status, headers, form] of forged) {
    const answer = await send("POST", approve, { headers, form: { outcome: "approve", ...form } });
    forgery.expect(`${what} ${status}`, answer.status === status, `answered ${answer.status}`);
  }
  const stillPending = plane.gateway.get(change.request.id).status === "pending";
  forgery.expect("the change still pending", stillPending, "a refused form decided it");
  const api = await send("GET", "/v1/changes/pending", { headers: { cookie } });
  forgery.expect("the cookie opens no API route (401)", api.status === 401, `answered ${api.status}`);
  const real = await send("POST", approve, {
    headers: { cookie, ...sameOrigin },
    form: { outcome: "approve", _csrf: csrf },
  });
  const applied = plane.gateway.get(change.request.id).status === "applied";
  forgery.expect("the proper form applies", real.status === 200 && applied, `answered ${real.status}`);

  const session = new Findings();
  const wrong = await send("POST", "/ui/login", { form: { token: `${token}x` }, headers: sameOrigin });
  session.expect(
    "the wrong token: 401, no cookie",
    wrong.status === 401 && !wrong.headers.has("set-cookie"),
    `answered ${wrong.status}`,
  );
  for (const flag of ["HttpOnly", "SameSite=Strict", "Path=/ui"]) {
    session.expect(flag, setCookie.split("; ").includes(flag), setCookie.replace(/=[0-9a-f]+;/, "=…;"));
  }
  session.expect("not the token", !setCookie.includes(token), "the cookie holds the API token");
  const proxied = await send("POST", "/ui/login", {
    form: { token },
    headers: { host: PUBLIC_HOST, origin: `https://${PUBLIC_HOST}`, "x-forwarded-proto": "http" },
  });
  const secure = (proxied.headers.get("set-cookie") ?? "").split("; ").includes("Secure");
  session.expect("Secure off loopback", proxied.status === 303 && secure, `answered ${proxied.status}`);
  await send("POST", "/ui/logout", { headers: { cookie, ...sameOrigin }, form: { _csrf: csrf } });
  const after = await send("GET", "/ui/approvals", { headers: { cookie } });
  session.expect("dead after sign-out", after.status === 303, `answered ${after.status}`);

  const framing = new Findings();
  const pages = ["/ui/login", "/ui/approvals", "/ui/no-such-page"];
  for (const path of pages) {
    const answer = await send("GET", path);
    const csp = answer.headers.get("content-security-policy") ?? "";
    framing.expect(
      `${path} CSP`,
      csp === CONSOLE_CSP && /frame-ancestors 'none'/.test(csp) && !/unsafe-|\*/.test(csp),
      csp || "none",
    );
    framing.expect(`${path} X-Frame-Options`, answer.headers.get("x-frame-options") === "DENY", "missing");
  }
  const loginPage = await send("GET", "/ui/login");
  framing.expect(
    "no inline script",
    !/<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=/i.test(loginPage.text),
    "the sign-in page has inline script",
  );

  return [
    forgery.wall(
      "console-forgery",
      "the real API app over a scratch plane with a pending change; forged approvals refused",
    ),
    session.wall("console-session", "the session cookie of the real app"),
    framing.wall("console-framing", "the console's headers and sign-in page"),
  ];
}
