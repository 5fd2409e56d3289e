/**
 * The Telegram channel on the whole host path: a {@link HostFixture} over a
 * state directory, the fake Bot API server, and the adapter between them,
 * registered with delivery. Tests play the agent with the sandbox-side
 * queue API and Telegram's users with the fake. Inbound files go into the
 * sessions' workspaces under `<dir>/sandbox`, on plain directories or, when
 * asked, on size-limited group volumes.
 *
 * @module
 */
import { HostFixture, type HostFixtureOptions } from "../support/host.ts";
import { WorkspaceFiles } from "../../src/channels/mod.ts";
import type { TelegramAdapterDeps } from "../../src/channels/telegram/mod.ts";
import { TelegramAdapter } from "../../src/channels/telegram/runtime.ts";
import { GroupVolumes, type VolumeSizes } from "../../src/sandbox/mod.ts";
import type { FakeTelegram } from "../support/fake_telegram.ts";

/** A wait the retry transformer asked for, with how many calls the fake had seen then. */
export interface RecordedSleep {
  ms: number;
  callsSoFar: number;
}

/** Host, adapter and the waits asked for. */
export interface TelegramHost extends AsyncDisposable {
  host: HostFixture;
  telegram: TelegramAdapter;
  sleeps: RecordedSleep[];
  /** The sandbox root the sessions' workspaces are under. */
  sandboxRoot: string;
}

/**
 * Opens (or reopens) the host over `dir` with a Telegram adapter talking to
 * `fake`; `volumes` sizes the groups' workspace volumes (default plain
 * directories), as the sandbox manager would mount them; `hostOptions` sets
 * the host's limits (e.g. a tiny `backlogCap` for back-pressure).
 */
export async function openTelegramHost(
  dir: string,
  fake: FakeTelegram,
  extra: Partial<TelegramAdapterDeps> = {},
  volumes: VolumeSizes | false = false,
  hostOptions: HostFixtureOptions = {},
): Promise<TelegramHost> {
  const host = await HostFixture.open(dir, hostOptions);
  const sandboxRoot = `${dir}/sandbox`;
  // Stands in for the sandbox manager's instance, which the files are placed through.
  const groupVolumes = new GroupVolumes(sandboxRoot, volumes, { mode: 0o711 });
  const sleeps: RecordedSleep[] = [];
  const telegram = new TelegramAdapter({
    token: fake.token,
    apiRoot: fake.apiRoot,
    state: host.state,
    registry: host.registry,
    router: host.router,
    desk: host.desk,
    files: new WorkspaceFiles({ root: sandboxRoot, agentWorkspace: () => "/workspace" }),
    typing: { everyMs: 3_600_000 },
    poll: { timeoutSeconds: 0 },
    retry: {
      sleep: (ms) => {
        sleeps.push({ ms, callsSoFar: fake.calls.length });
        return Promise.resolve();
      },
    },
    ...extra,
  });
  host.adapters.add(telegram);
  return {
    host,
    telegram,
    sleeps,
    sandboxRoot,
    async [Symbol.asyncDispose]() {
      await telegram.stop();
      await groupVolumes.close();
      await host[Symbol.asyncDispose]();
    },
  };
}

/** Agent `g1`, owner `telegram:<ownerId>`, and a wiring of chat `chatId` to it. */
export function wireChat(
  host: HostFixture,
  chatId: number,
  options: {
    ownerId?: number;
    engageMode?: "pattern" | "mention" | "mention-sticky";
    policy?: "strict" | "request_approval" | "public";
    isGroup?: boolean;
    sessionMode?: "shared" | "per-thread";
    senderScope?: "all" | "known";
  } = {},
) {
  const r = host.registry;
  if (!r.hasAgentGroup("g1")) r.putAgentGroup({ id: "g1", name: "g1" });
  if (options.ownerId !== undefined) r.grantRole({ userId: `telegram:${options.ownerId}`, role: "owner" });
  const chat = r.getOrCreateMessagingGroup({
    channelType: "telegram",
    platformId: String(chatId),
    isGroup: options.isGroup ?? chatId < 0,
    unknownSenderPolicy: options.policy,
  });
  const mode = options.engageMode ?? "pattern";
  const wiring = r.putWiring({
    messagingGroupId: chat.id,
    agentGroupId: "g1",
    engageMode: mode,
    engagePattern: mode === "pattern" ? "." : "",
    sessionMode: options.sessionMode,
    senderScope: options.senderScope,
  });
  return { chat, wiring };
}
