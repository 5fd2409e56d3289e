/**
 * The Discord channel on the whole host path: a {@link HostFixture} over a
 * state directory, the fake Discord (REST and Gateway), and the adapter
 * between them, registered with delivery. Tests play the agent with the
 * sandbox-side queue API and Discord's users with the fake; every gateway
 * event the adapter handles is recorded in `handled`, in order.
 *
 * @module
 */
import { HostFixture } from "../support/host.ts";
import { WorkspaceFiles } from "../../src/channels/kit/mod.ts";
import {
  DiscordAdapter,
  type DiscordAdapterDeps,
  type HandledEvent,
} from "../../src/channels/discord/runtime.ts";
import type { FakeDiscord } from "../support/fake_discord.ts";

/** A handled gateway event. */
export interface Handled {
  t: string;
  s: number;
  handled: HandledEvent;
}

/** Host, adapter, and what the adapter handled. */
export interface DiscordHost extends AsyncDisposable {
  host: HostFixture;
  discord: DiscordAdapter;
  handled: Handled[];
  sandboxRoot: string;
  /** Resolves with the handled events of type `t` once there are `count` of them. */
  events(t: string, count?: number): Promise<HandledEvent[]>;
}

/** Opens the host over `dir` with a started Discord adapter talking to `fake`. */
export async function openDiscordHost(
  dir: string,
  fake: FakeDiscord,
  extra: Partial<DiscordAdapterDeps> = {},
): Promise<DiscordHost> {
  const host = await HostFixture.open(dir);
  const sandboxRoot = `${dir}/sandbox`;
  const handled: Handled[] = [];
  const discord = new DiscordAdapter({
    token: fake.token,
    apiRoot: fake.apiRoot,
    state: host.state,
    registry: host.registry,
    router: host.router,
    desk: host.desk,
    files: new WorkspaceFiles({ root: sandboxRoot, agentWorkspace: () => "/workspace" }),
    typing: { everyMs: 3_600_000 },
    questionPollMs: 3_600_000,
    onHandled: (event, h) => handled.push({ ...event, handled: h }),
    ...extra,
  });
  host.adapters.add(discord);
  await discord.start();
  await discord.ready();
  await fake.waitFor("the gateway session", () => fake.connected);
  const of = (t: string) => handled.filter((h) => h.t === t).map((h) => h.handled);
  return {
    host,
    discord,
    handled,
    sandboxRoot,
    events: (t, count = 1) => fake.waitFor(`${count} ${t} handled`, () => of(t).length >= count && of(t)),
    async [Symbol.asyncDispose]() {
      await discord.stop();
      await host[Symbol.asyncDispose]();
    },
  };
}

/** Agent `g1`, owner `discord:<ownerId>`, and a wiring of channel `channelId` to it. */
export function wireChannel(
  host: HostFixture,
  channelId: string,
  options: {
    ownerId?: string;
    engageMode?: "pattern" | "mention";
    policy?: "strict" | "request_approval" | "public";
    isGroup?: boolean;
  } = {},
) {
  const r = host.registry;
  if (!r.hasAgentGroup("g1")) r.putAgentGroup({ id: "g1", name: "g1" });
  if (options.ownerId !== undefined) r.grantRole({ userId: `discord:${options.ownerId}`, role: "owner" });
  const chat = r.getOrCreateMessagingGroup({
    channelType: "discord",
    platformId: channelId,
    isGroup: options.isGroup ?? true,
    unknownSenderPolicy: options.policy,
  });
  const mode = options.engageMode ?? "mention";
  const wiring = r.putWiring({
    messagingGroupId: chat.id,
    agentGroupId: "g1",
    engageMode: mode,
    engagePattern: mode === "pattern" ? "." : "",
  });
  return { chat, wiring };
}
