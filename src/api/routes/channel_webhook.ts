/**
 * Chat platforms' webhooks: a channel in webhook mode (Telegram's webhook,
 * Slack's Events API) is posted to at `/v1/channels/<type>/webhook`. These
 * carry no bearer token; the platform proves itself (Telegram's secret
 * header, Slack's signature), which the channel checks. The body is passed
 * to the channel as sent (it parses it), so it is not validated here.
 *
 * @module
 */
import { CHANNEL_KINDS, channelWebhookPath } from "../../channels/mod.ts";
import type { ControlPlane } from "../../control_plane/mod.ts";
import { routeGroup } from "../route_group.ts";
import { fail } from "../errors.ts";

/** Where the control plane receives Telegram's updates (the channel's webhook URL must end with it). */
export const TELEGRAM_WEBHOOK_PATH = channelWebhookPath("telegram");

/** The webhook paths of every registered channel that can be posted to (left out of bearer auth). */
export const CHANNEL_WEBHOOK_PATHS: readonly string[] = CHANNEL_KINDS.filter((k) => k.webhook).map((k) =>
  channelWebhookPath(k.type)
);

/** Mounts the webhooks; 404 unless that channel runs in webhook mode. */
export function channelWebhookRoutes(plane: ControlPlane) {
  // The platforms' protocols, not ours: served raw (the channel reads the request) and left out of the OpenAPI document.
  return routeGroup()
    .post("/v1/channels/:type/webhook", async (c) => {
      const type = c.req.param("type");
      const handle = CHANNEL_WEBHOOK_PATHS.includes(channelWebhookPath(type))
        ? plane.channelWebhook(type)
        : undefined;
      if (!handle) return fail(c, 404, `no ${type} channel runs in webhook mode`);
      return await handle(c.req.raw);
    });
}
