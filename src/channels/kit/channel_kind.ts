/**
 * The seam every chat platform plugs into: a {@link ChannelKind} (what
 * `ironclaw channel add|list|remove`, `doctor` and the control plane need to
 * know about the platform, with no platform library loaded) that opens a
 * {@link RunningChannel} (delivery's `ChannelAdapter` plus start, stop and,
 * when the platform posts to us, an HTTP handler). See `../mod.ts` for how a
 * channel is written.
 *
 * @module
 */
import type { ChannelAdapter } from "../../delivery/mod.ts";
import type { QuestionDesk } from "../../questions/mod.ts";
import type { Registry } from "../../registry/mod.ts";
import type { Router } from "../../router/mod.ts";
import type { StateDb } from "../../state/mod.ts";
import type { ChannelConfig, Env } from "./channel_config.ts";
import type { InboundFiles } from "./files.ts";

/** A check's outcome, as `ironclaw doctor` prints it. */
export interface ChannelCheck {
  ok: boolean;
  detail: string;
  /** How to fix a failure. */
  fix?: string;
}

/** A secret a channel reads from an environment variable; only the variable's name is stored. */
export interface ChannelSecret {
  /** `token` is the channel's main token (stored as `tokenEnv`); any other role goes in `secretEnvs`. */
  role: string;
  /** The `channel add` option naming the variable, without dashes (`token-env`, `app-token-env`). */
  flag: string;
  /** What the variable holds, for help and errors ("the bot token"). */
  what: string;
  /** Needed in every mode (else the kind's `check` says when). */
  required: boolean;
  /** The variable name suggested in help and fixes. */
  example: string;
}

/** What every running channel is opened with: the plane's parts it talks to. */
export interface ChannelDeps {
  state: StateDb;
  registry: Registry;
  /** Inbound messages go here; the router applies the sender policy (a stranger under `strict` is dropped). */
  router: Pick<Router, "route">;
  /** Where questions are listed and answered; without it questions are not posted. */
  desk?: Pick<QuestionDesk, "pending" | "get" | "answer">;
  /** Where inbound files are placed; without it attachments are only named. */
  files?: InboundFiles;
  /** Where secrets are read (default the host's environment). */
  env?: Env;
}

/** A channel at work: delivery's adapter, started and stopped by the plane. */
export interface RunningChannel extends ChannelAdapter {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** How it receives, for the start-up line (`polling`, `webhook`, `socket`). */
  readonly mode: string;
  /** The HTTP endpoint the platform posts to, when it runs in webhook mode. */
  webhookHandler?(): ((request: Request) => Promise<Response>) | undefined;
}

/** A chat platform this build runs: one entry of the channel registry. */
export interface ChannelKind {
  /** Its channel type: the name of the channel, its senders' prefix (`slack:U123`) and messaging groups' `channelType`. */
  readonly type: string;
  /** How people name it ("Slack"). */
  readonly title: string;
  /** The secrets it reads; the first has role `token`. */
  readonly secrets: readonly ChannelSecret[];
  /** Its API server by default, and the variable that overrides it (a self-hosted compatible server). */
  readonly apiRoot: { default: string; env: string };
  /** What `--webhook-url` means for it; absent when it cannot be posted to. */
  readonly webhook?: string;
  /** How a configured channel receives: a short word for `channel list`, and a phrase for `channel add`. */
  mode(config: ChannelConfig): { name: string; phrase: string };
  /** Refuses a configuration that cannot run (a mode missing its secret), with the fix; throws `InvalidInputError`. */
  check?(config: Pick<ChannelConfig, "secretEnvs" | "webhookUrl">): void;
  /** The running channel (its platform library loaded on demand); throws `InvalidInputError` for an unset secret. */
  open(config: ChannelConfig, deps: ChannelDeps): Promise<RunningChannel>;
  /** The doctor's check: the secrets are set and the platform accepts them (one real call). Never throws. */
  doctor(config: ChannelConfig, options?: { env?: Env; timeoutMs?: number }): Promise<ChannelCheck>;
}

/** Where the plane receives a channel's webhook posts (outside bearer auth: the channel checks the platform's proof). */
export function channelWebhookPath(type: string): string {
  return `/v1/channels/${type}/webhook`;
}
