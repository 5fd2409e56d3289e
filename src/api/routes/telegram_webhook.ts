/**
 * Telegram's webhook: in webhook mode Telegram posts updates here. It carries
 * no bearer token; Telegram proves itself with the secret header the channel
 * registered, which the channel checks. The update is passed to grammY as
 * sent (the channel parses it), so the body is not validated here.
 *
 * @module
 */
import type { ControlPlane } from "../../control_plane/mod.ts";
import { routeGroup } from "../route_group.ts";
import { fail } from "../errors.ts";

/** Where the control plane receives Telegram's updates (the channel's webhook URL must end with it). */
export const TELEGRAM_WEBHOOK_PATH = "/v1/channels/telegram/webhook";

/** Mounts the webhook; 404 unless the Telegram channel runs in webhook mode. */
export function telegramWebhookRoutes(plane: ControlPlane) {
  // Telegram's protocol, not ours: served raw (grammY reads the request) and left out of the OpenAPI document.
  return routeGroup()
    .post(TELEGRAM_WEBHOOK_PATH, async (c) => {
      const handle = plane.telegramWebhook();
      if (!handle) return fail(c, 404, "no Telegram channel runs in webhook mode");
      return await handle(c.req.raw);
    });
}
