/**
 * The egress broker's walls. The kit runs the real broker on the probe's
 * `egress.sock`, with every host approved (so only the address guard stands
 * between the probe and the host), a loopback listener standing in for an
 * internal service, a resolver that answers one name with loopback (a
 * hostile DNS server), and a decoy vault secret granted for an echo server
 * the operator let through.
 *
 * - `egress-ssrf`: the probe asks the broker for the internal listener by
 *   every spelling (`127.0.0.1`, `0x7f000001`, `2130706433`, octal, `127.1`,
 *   `[::ffff:127.0.0.1]`, `[::1]`, `0.0.0.0`, `localhost`), for the cloud
 *   metadata address, for the rebinding name, and through a redirect from
 *   the allowed echo server. Held when the listener accepted nothing and the
 *   broker's own audit shows each request refused.
 * - `egress-vault-secret`: the probe fetches the echo (which sends the
 *   request's headers back) with its own values in the secret's header.
 *   Held when the echo server received the secret (the grant was exercised)
 *   and the secret appears nowhere the sandbox can leave it: the probe's
 *   report (which carries the echo), its outbound directory, its workspace,
 *   the sandbox log.
 *
 * @module
 */
import { EGRESS_SOCKET_NAME } from "../../contract/sockets.ts";
import type { SessionId } from "../../contract/ids.ts";
import { EgressBroker, type EgressRecord, systemResolver } from "../egress/mod.ts";
import { CountingTcpListener } from "./witnesses.ts";
import { randomHex } from "./stage.ts";
import type { ArmedWalls, WallKit, WallRun } from "./wall_kit.ts";
import { decideWall, pickAttempts, type Wall } from "./verdict.ts";

/** Files larger than this are not scanned for the secret. */
const SCAN_LIMIT = 8 << 20;

/** The egress kit. */
export const egressWalls: WallKit = { name: "egress", arm };

async function arm(run: WallRun): Promise<ArmedWalls> {
  const { stage } = run;
  const internal = new CountingTcpListener();
  run.defer(() => internal[Symbol.asyncDispose]());
  const secret = `ironclaw-verify-secret-${randomHex(16)}`;
  const echoSaw: string[] = [];
  const port = internal.port;
  const echo = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    echoSaw.push(req.headers.get("x-verify-secret") ?? "");
    if (new URL(req.url).pathname === "/to-internal") {
      return Response.redirect(`http://127.0.0.1:${port}/`, 302);
    }
    return Response.json(Object.fromEntries(req.headers));
  });
  run.defer(() => echo.shutdown());
  const echoHost = `127.0.0.1:${echo.addr.port}`;
  const rebindName = `loopback-${stage.nonce}.verify.ironclaw.test`;
  const calls: EgressRecord[] = [];
  const broker = new EgressBroker({
    policy: {
      allowsHost: () => true,
      credentialsFor: (_group, url) =>
        Promise.resolve(
          url.host === echoHost
            ? [{ credential: "verify-decoy", header: "x-verify-secret", value: secret }]
            : [],
        ),
    },
    allowPrivate: [echoHost],
    resolve: (name) => name === rebindName ? Promise.resolve(["127.0.0.1"]) : systemResolver(name),
    rateLimit: { perSecond: 0, burst: 0 },
    onAudit: (record) => calls.push(record),
  });
  run.defer(() => broker.close());
  await broker.openSession(stage.sessionId as SessionId, {
    agentGroupId: "verify",
    socketPath: `${stage.dirs.socketDir}/${EGRESS_SOCKET_NAME}`,
  });
  const ssrfUrls = [
    `http://127.0.0.1:${port}/`,
    `http://0x7f000001:${port}/`,
    `http://2130706433:${port}/`,
    `http://017700000001:${port}/`,
    `http://127.1:${port}/`,
    `http://[::ffff:127.0.0.1]:${port}/`,
    `http://[::1]:${port}/`,
    `http://0.0.0.0:${port}/`,
    `http://localhost:${port}/`,
    "http://169.254.169.254/latest/meta-data/",
    `http://${rebindName}:${port}/`,
    `http://${echoHost}/to-internal`,
  ];

  return {
    targets: { egress: { ssrfUrls, secretEchoUrl: `http://${echoHost}/echo` } },
    async decide(end): Promise<Wall[]> {
      const refused = calls.filter((c) => !c.allowed || c.status >= 400);
      const through = calls.filter((c) => c.allowed && c.status < 400 && c.host !== echoHost);
      const ssrf = decideWall("egress-ssrf", {
        attempts: pickAttempts(end.report, "egress.ssrf:"),
        expected: ssrfUrls.length,
        breaches: [
          ...(internal.accepted ? [`the internal listener accepted ${internal.accepted} connection(s)`] : []),
          ...through.map((c) => `the broker fetched ${c.host}${c.path} (HTTP ${c.status})`),
          ...(refused.length < ssrfUrls.length
            ? [`the broker refused ${refused.length} of ${ssrfUrls.length} requests (fail closed)`]
            : []),
        ],
        heldNote:
          `the broker refused ${refused.length} request(s) (every spelling, the rebinding name, a redirect); ` +
          "the internal listener accepted 0 connections",
      });
      const leaks = await secretLeaks(secret, run, JSON.stringify(end.report ?? {}), end.log);
      const vault = decideWall("egress-vault-secret", {
        attempts: pickAttempts(end.report, "egress.secret_echo"),
        expected: 1,
        breaches: [
          ...(echoSaw.includes(secret)
            ? []
            : ["the echo server never received the secret, so nothing was tested"]),
          ...leaks.map((where) => `the secret reached ${where}`),
        ],
        heldNote:
          "the echo server received the granted secret; it is in none of the probe's report, outbound " +
          "directory, workspace or log",
      });
      return [ssrf, vault];
    },
  };
}

/** Where `secret` shows up among what the sandbox could write or was given. */
async function secretLeaks(secret: string, run: WallRun, report: string, log: string): Promise<string[]> {
  const found: string[] = [];
  if (report.includes(secret)) found.push("the probe's report");
  if (log.includes(secret)) found.push("the sandbox log");
  for (const dir of [run.stage.queue.outboundDir, run.stage.dirs.workspaceDir]) {
    const entries = await Array.fromAsync(Deno.readDir(dir)).catch(() => []);
    for (const entry of entries) {
      const path = `${dir}/${entry.name}`;
      // The disk walls' fill files are large and hold only zeros.
      if (!entry.isFile || (await Deno.stat(path)).size > SCAN_LIMIT) continue;
      const bytes = await Deno.readFile(path).catch(() => new Uint8Array());
      if (new TextDecoder("latin1").decode(bytes).includes(secret)) found.push(path);
    }
  }
  return found;
}
