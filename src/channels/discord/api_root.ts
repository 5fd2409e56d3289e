/**
 * Where Discord's API is: discord.com by default; `--api-root` (or the
 * variable) points at a compatible server instead (a self-hosted one, a
 * test double). The REST API is under `<root>/api/v10`; the gateway's
 * address comes from `GET /gateway/bot` there.
 *
 * @module
 */

/** Discord's API root. */
export const DISCORD_API_ROOT = "https://discord.com";
/** The variable that overrides the API root when the configuration names none. */
export const API_ROOT_ENV = "IRONCLAW_DISCORD_API_ROOT";
