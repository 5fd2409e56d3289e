import assert from "node:assert/strict";
import {
  removeToolServerLeftovers,
  resolveCommand,
  toolServerBinds,
  toolServerSandbox,
} from "./tool_server.ts";
import { runCommand } from "./child.ts";

const asRoot = Deno.uid() === 0;
const has = async (binary: string) => asRoot && (await runCommand(binary, ["--version"])).success;

Deno.test("a tool server sees its program's directory and its declared paths, once each; never / or the plane's state", () => {
  const root = Deno.makeTempDirSync();
  try {
    for (const dir of ["srv/lib", "state/keys"]) Deno.mkdirSync(`${root}/${dir}`, { recursive: true });
    Deno.writeTextFileSync(`${root}/srv/bin`, "");
    const binds = toolServerBinds(`${root}/srv/bin`, { paths: [`${root}/srv/lib`, `${root}/srv/bin`] });
    assert.deepEqual(binds, [{
      source: Deno.realPathSync(`${root}/srv`),
      destination: Deno.realPathSync(`${root}/srv`),
      writable: false,
      exec: true,
      isFile: false,
    }]);
    const forbiddenPaths = [Deno.realPathSync(`${root}/state`)];
    assert.throws(
      () => toolServerBinds("/usr/bin/env", { paths: [`${root}/state/keys`], forbiddenPaths }),
      /holds or is inside/,
    );
    assert.throws(
      () => toolServerBinds("/usr/bin/env", { paths: [root], forbiddenPaths }),
      /holds or is inside/,
    );
    assert.throws(() => toolServerBinds("/usr/bin/env", { paths: ["/"] }), /the whole host/);
    assert.throws(() => toolServerBinds("/usr/bin/env", { paths: ["relative"] }), /must be absolute/);
    assert.throws(
      () => toolServerBinds("/usr/bin/env", { paths: [`${root}/nope`] }),
      /does not exist on this host/,
    );
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
  assert.equal(resolveCommand("env", "/usr/bin:/bin"), Deno.realPathSync("/usr/bin/env"));
  assert.throws(
    () => resolveCommand("no-such-server-here"),
    /not on this host's PATH; register it by its absolute path/,
  );
  assert.throws(() => resolveCommand("bin/server"), /must be an absolute path or a name on PATH/);
});

Deno.test({
  name: "bwrap: a tool server talks over its stdin and stdout with no network and only its own environment",
  ignore: !(await has("bwrap")),
  async fn() {
    const stateDir = Deno.makeTempDirSync();
    try {
      const server = await toolServerSandbox("bwrap", { stateDir }).start({
        id: "tool-bwrap",
        command: Deno.execPath(),
        args: [
          "eval",
          "const line = (await new Response(Deno.stdin.readable).text()).trim(); " +
          "console.log(JSON.stringify({ line, env: Deno.env.toObject(), " +
          "net: await Deno.connect({ hostname: '1.1.1.1', port: 53 }).then(() => 'open', (e) => e.name) }))",
        ],
        env: { GIVEN: "yes" },
      });
      const writer = server.stdin.getWriter();
      await writer.write(new TextEncoder().encode("hello\n"));
      await writer.close();
      const answer = JSON.parse(await new Response(server.stdout).text());
      assert.equal(answer.line, "hello");
      // What it was given and what the runtime adds itself (Deno's PWD and Node shim); nothing of the host's.
      assert.deepEqual(Object.keys(answer.env).sort(), [
        "DENO_NODE_SHIM_ACTIVE",
        "GIVEN",
        "HOME",
        "PATH",
        "PWD",
      ]);
      assert.equal(answer.env.GIVEN, "yes");
      assert.notEqual(answer.net, "open");
      assert.deepEqual(await server.exited, { code: 0 });
    } finally {
      Deno.removeSync(stateDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "runsc: a server the last run left behind is removed at the next start",
  ignore: !(await has("runsc")),
  async fn() {
    const stateDir = Deno.makeTempDirSync();
    try {
      const left = await toolServerSandbox("runsc", { stateDir }).start({
        id: "tool-left",
        command: Deno.execPath(),
        args: ["eval", "setInterval(() => {}, 1000)"],
      });
      const list = () => runCommand("runsc", ["--root", `${stateDir}/runsc`, "list", "--quiet"]);
      // Running, as a leftover of a crashed host would be.
      for (let i = 0; i < 100 && (await list()).stdout === ""; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(await removeToolServerLeftovers({ stateDir }), 1);
      await left.exited;
      assert.equal(await removeToolServerLeftovers({ stateDir }), 0);
      assert.deepEqual(
        (await runCommand("runsc", ["--root", `${stateDir}/runsc`, "list", "--quiet"])).stdout,
        "",
      );
    } finally {
      Deno.removeSync(stateDir, { recursive: true });
    }
  },
});
