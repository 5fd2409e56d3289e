/**
 * The control plane's way in: a configured Telegram channel as a ready
 * adapter, its token read from the environment variable the configuration
 * names.
 *
 * ```ts
 * import { ControlPlane } from "../../control_plane/mod.ts";
 * import { ChannelConfigStore } from "../kit/mod.ts";
 *
 * const stateDir = await Deno.makeTempDir();
 * const plane = await ControlPlane.open({ stateDir, dev: true, background: false });
 * const { state, registry, router, desk } = plane;
 * const config = new ChannelConfigStore(state).find("telegram"); // `ironclaw channel add telegram`
 * if (config) {
 *   const telegram = openTelegramChannel(config, { state, registry, router, desk });
 *   plane.adapters.add(telegram);
 *   await telegram.start();
 * }
 * await plane.close();
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
import type { ChannelConfig } from "../kit/mod.ts";
import { InvalidInputError } from "../../state/mod.ts";
import { TelegramAdapter, type TelegramAdapterDeps } from "./adapter.ts";
import { resolveTelegramSettings } from "./settings.ts";

/** What opening needs: the adapter's parts except what the configuration says. */
export type OpenTelegramDeps = Omit<TelegramAdapterDeps, "token" | "apiRoot" | "webhook"> & {
  env?: { get(name: string): string | undefined };
  /** The webhook's secret (default: a fresh random one each start). */
  webhookSecret?: string;
};

/**
 * The adapter of the configured channel `config`. Throws
 * `InvalidInputError` when its token variable is unset (naming the
 * variable, never a value).
 */
export function openTelegramChannel(config: ChannelConfig, deps: OpenTelegramDeps): TelegramAdapter {
  const settings = resolveTelegramSettings(config, deps.env);
  if (settings.webhookUrl === null && deps.webhookSecret !== undefined) {
    throw new InvalidInputError("a webhook secret was given but the channel polls (no webhook URL)");
  }
  const { env: _env, webhookSecret, ...rest } = deps;
  return new TelegramAdapter({
    ...rest,
    token: settings.token,
    apiRoot: settings.apiRoot,
    ...(settings.webhookUrl ? { webhook: { url: settings.webhookUrl, secretToken: webhookSecret } } : {}),
  });
}
