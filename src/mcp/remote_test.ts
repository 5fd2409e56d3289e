import assert from "node:assert/strict";
import type { McpRegisterPayload } from "../../contract/changes.ts";
import { PrivateAllowance } from "../egress/mod.ts";
import { McpConnections, mcpTransports, McpUnavailable } from "./mod.ts";
import { serveSampleHttp } from "./sample/server.ts";

const TESTDATA = new URL("../egress/testdata/", import.meta.url);
const TLS = {
  cert: Deno.readTextFileSync(new URL("server.pem", TESTDATA)),
  key: Deno.readTextFileSync(new URL("server.key", TESTDATA)),
};
const CA = Deno.readTextFileSync(new URL("ca.pem", TESTDATA));

/** `mcp.example` resolves to this machine, as a name that points inward would. */
const resolveHere = () => Promise.resolve(["127.0.0.1"]);

function remote(url: string): McpRegisterPayload {
  return { name: "remote", transport: "http", url };
}

function connectionsTo(url: string, options: Parameters<typeof mcpTransports>[0]) {
  return new McpConnections(() => remote(url), {
    transports: mcpTransports({ resolve: resolveHere, ...options }),
    limits: { connectMs: 20_000, callMs: 20_000 },
  });
}

Deno.test("a remote streamable-HTTP server over TLS is reached through the address guard: refused while private, listed and called once its port is let through, refused with an untrusted certificate", async () => {
  const server = serveSampleHttp({ port: 0, tls: TLS });
  const url = `https://localhost:${server.addr.port}/mcp`;
  try {
    const refused = connectionsTo(url, { caCerts: [CA] });
    await assert.rejects(
      () => refused.listTools("remote"),
      (e) =>
        e instanceof McpUnavailable &&
        /localhost resolves to 127\.0\.0\.1, a loopback address/.test(e.message),
    );

    const allowPrivate = new PrivateAllowance([`localhost:${server.addr.port}`]);
    const allowed = connectionsTo(url, { caCerts: [CA], allowPrivate });
    try {
      assert.deepEqual((await allowed.listTools("remote")).map((t) => t.name), ["add", "echo", "slow"]);
      assert.deepEqual(await allowed.callTool("remote", "add", { a: 20, b: 22 }), {
        content: [{ type: "text", text: "42" }],
        isError: false,
      });
    } finally {
      await allowed.close();
    }

    // The name is checked against the certificate: without the test CA the system roots refuse it.
    const untrusted = connectionsTo(url, { allowPrivate });
    await assert.rejects(
      () => untrusted.listTools("remote"),
      (e) => e instanceof McpUnavailable && /certificate|UnknownIssuer/i.test(e.message),
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("a remote server at a name that resolves inward is refused, and one over plain http only on a port let through", async () => {
  const server = serveSampleHttp({ port: 0 });
  const port = server.addr.port;
  try {
    // mcp.example does not exist: the answer can only come from the address the guard checked.
    const inward = connectionsTo(`https://mcp.example:${port}/mcp`, {});
    await assert.rejects(
      () => inward.listTools("remote"),
      (e) => e instanceof McpUnavailable && /mcp\.example resolves to 127\.0\.0\.1/.test(e.message),
    );
    await assert.rejects(
      () => connectionsTo(`http://mcp.example:${port}/mcp`, {}).listTools("remote"),
      (e) =>
        e instanceof McpUnavailable &&
        /plain http; only https, or a private port let through/.test(e.message),
    );
    const letThrough = connectionsTo(`http://mcp.example:${port}/mcp`, {
      allowPrivate: new PrivateAllowance([`mcp.example:${port}`]),
    });
    try {
      assert.deepEqual((await letThrough.callTool("remote", "echo", { text: "via the guard" })).content, [
        { type: "text", text: "via the guard" },
      ]);
    } finally {
      await letThrough.close();
    }
  } finally {
    await server.shutdown();
  }
});
