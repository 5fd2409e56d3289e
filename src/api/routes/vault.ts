/**
 * The vault's secrets: set (the value in the body, never in a URL), list
 * (names, dates and grants; never values) and remove. Granting a secret to
 * an agent is a gateway change (`vault_grant`, through `POST /v1/changes`),
 * so it needs a human like every other capability.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import { VaultSecretName } from "../../../contract/changes.ts";
import { nowTimestamp } from "../../../contract/time.ts";
import type { ControlPlane } from "../../control_plane/mod.ts";
import { VaultValueError } from "../../vault/mod.ts";
import { routeGroup } from "../route_group.ts";
import { ApiError } from "../errors.ts";
import { errorAnswers, jsonAnswer, jsonBody } from "../openapi.ts";

const NameParam = z.object({ name: VaultSecretName });

const SecretView = z.object({
  name: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  grants: z.array(z.object({ agentGroupId: z.string(), host: z.string(), header: z.string() })),
}).openapi("VaultSecret");

const SetBody = z.strictObject({ value: z.string().min(1).max(16384) }).openapi("VaultSetInput");

const list = createRoute({
  method: "get",
  path: "/v1/vault/secrets",
  summary: "The vault's secrets by name, with their dates and grants (never their values)",
  responses: { 200: jsonAnswer(z.array(SecretView), "secrets"), ...errorAnswers() },
});

const set = createRoute({
  method: "put",
  path: "/v1/vault/secrets/{name}",
  summary: "Set a secret (replacing an existing value rotates it; grants stay)",
  request: { params: NameParam, body: jsonBody(SetBody) },
  responses: {
    200: jsonAnswer(z.object({ name: z.string(), rotated: z.boolean() }), "stored, sealed"),
    ...errorAnswers(400, 413, 415),
  },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/vault/secrets/{name}",
  summary: "Remove a secret and its grants",
  request: { params: NameParam },
  responses: { 200: jsonAnswer(z.object({ name: z.string() }), "removed"), ...errorAnswers(400, 404) },
});

/** The vault routes. */
export function vaultRoutes(plane: ControlPlane) {
  return routeGroup()
    .openapi(list, (c) => c.json(plane.vault.list(), 200))
    .openapi(set, async (c) => {
      const { name } = c.req.valid("param");
      let rotated: boolean;
      try {
        ({ rotated } = await plane.vault.set(name, c.req.valid("json").value));
      } catch (err) {
        if (err instanceof VaultValueError) throw new ApiError(400, `value: ${err.message}`);
        throw err;
      }
      await plane.egress.audit.append({
        time: nowTimestamp(),
        action: rotated ? "vault.rotate" : "vault.set",
        name,
      });
      // MCP servers given it with --env-secret start again with the new value at their next use.
      await plane.mcp.invalidateWhere((server) => Object.values(server.envSecrets ?? {}).includes(name));
      return c.json({ name, rotated }, 200);
    })
    .openapi(remove, async (c) => {
      const { name } = c.req.valid("param");
      if (!plane.vault.remove(name)) throw new ApiError(404, `no vault secret ${name}`);
      await plane.egress.audit.append({ time: nowTimestamp(), action: "vault.remove", name });
      await plane.mcp.invalidateWhere((server) => Object.values(server.envSecrets ?? {}).includes(name));
      return c.json({ name }, 200);
    });
}
