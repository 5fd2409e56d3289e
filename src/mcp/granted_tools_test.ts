import assert from "node:assert/strict";
import { GrantedTools, type OfferedTool } from "./mod.ts";

const tool = (name: string, hash: string): OfferedTool => ({ name, description: "", inputSchema: {}, hash });

Deno.test("granted tools: live, withheld (changed) and gone; withheld() keeps the last look without asking servers, one audit per change", async () => {
  let offered = [tool("echo", "h1"), tool("add", "h2")];
  let grants = [{ server: "sample" }];
  let reachable = true;
  let asked = 0;
  const audits: string[] = [];
  const pins = new Map([["echo", { hash: "h1", changeId: "chg_1" }], ["gone", {
    hash: "h3",
    changeId: "chg_1",
  }]]);
  const granted = new GrantedTools({
    grants: () => grants,
    pins: () => pins,
    connections: {
      listTools: () => {
        asked++;
        return reachable ? Promise.resolve(offered) : Promise.reject(new Error("down"));
      },
    },
    onWithheld: (e) => Promise.resolve(void audits.push(`${e.server}/${e.tool} ${e.changeId}`)),
  });
  const states = async () => (await granted.resolve("g1")).tools.map((t) => [t.tool, t.state]);
  assert.deepEqual(await states(), [["echo", "live"], ["gone", "gone"]]);
  assert.deepEqual(granted.withheld(), []);

  offered = [tool("echo", "changed"), tool("add", "h2")];
  assert.deepEqual(await states(), [["echo", "withheld"], ["gone", "gone"]]);
  await states();
  assert.deepEqual(audits, ["sample/echo chg_1"], "one audit line per change seen");
  const seen = asked;
  assert.deepEqual(granted.withheld(), [{ agentGroupId: "g1", server: "sample", tool: "echo" }]);
  assert.equal(asked, seen, "withheld() asks no server");

  // A server that cannot be asked keeps what was seen; a re-approval (new pin) clears it; so does revoking.
  reachable = false;
  assert.deepEqual((await granted.resolve("g1")).unreachable, [{ server: "sample", error: "down" }]);
  assert.equal(granted.withheld().length, 1);
  reachable = true;
  pins.set("echo", { hash: "changed", changeId: "chg_2" });
  assert.deepEqual(await states(), [["echo", "live"], ["gone", "gone"]]);
  assert.deepEqual(granted.withheld(), []);
  pins.set("echo", { hash: "h1", changeId: "chg_1" });
  await states();
  assert.equal(granted.withheld().length, 1);
  grants = [];
  await states();
  assert.deepEqual(granted.withheld(), []);
});
