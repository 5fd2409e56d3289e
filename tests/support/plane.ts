/**
 * Test fixture: a dev control plane whose sandboxes are a recording fake
 * (no agent runs), for tests of what the plane and its API do around them.
 *
 * @module
 */
import { ControlPlane, type ControlPlaneOptions } from "../../src/control_plane/mod.ts";
import { FakeIsolator } from "./fake_isolator.ts";
import { LIBRARY, tempDir } from "./mod.ts";

/** A plane over a temporary directory, its fake isolator, disposed together. */
export interface FakeSandboxPlane extends AsyncDisposable {
  plane: ControlPlane;
  isolator: FakeIsolator;
  stateDir: string;
}

/**
 * Opens a dev control plane (the `demo` agent seeded) that "launches" through
 * a {@link FakeIsolator}; `options` sets the plane's limits (e.g. `inboundBacklogCap`).
 */
export async function openFakeSandboxPlane(
  options: Pick<ControlPlaneOptions, "inboundBacklogCap" | "mcpAllowHostProcess" | "egress"> = {},
): Promise<FakeSandboxPlane> {
  const dir = tempDir("ironclaw-plane-");
  const isolator = new FakeIsolator();
  const plane = await ControlPlane.open({
    ...options,
    stateDir: dir.path,
    dev: true,
    library: LIBRARY,
    isolator,
    agentProgram: Deno.execPath(),
  });
  return {
    plane,
    isolator,
    stateDir: dir.path,
    [Symbol.asyncDispose]: async () => {
      await plane.close().catch(() => {});
      dir[Symbol.dispose]();
    },
  };
}
