/**
 * Operator-direct chats: messaging groups, the wirings that route them to
 * agents, and the destinations agents may send to.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { ControlPlane } from "../../control_plane/mod.ts";
import { Destination, MessagingGroup, MessagingGroupInput, Wiring, WiringInput } from "../../registry/mod.ts";
import { routeGroup } from "../route_group.ts";
import { referencing } from "../errors.ts";
import { errorAnswers, jsonAnswer, jsonBody } from "../openapi.ts";
import { DestinationQuery, edgeBody, MessagingGroupIdParam, WiringIdParam } from "../schemas.ts";

const MessagingGroupBody = edgeBody(MessagingGroupInput).openapi("MessagingGroupInput");
const WiringBody = edgeBody(WiringInput).openapi("WiringInput");
const DestinationBody = edgeBody(Destination).openapi("DestinationInput");

const createGroup = createRoute({
  method: "post",
  path: "/v1/registry/messaging-groups",
  summary: "Gets or creates the messaging group of (channel type, platform id, instance)",
  request: { body: jsonBody(MessagingGroupBody) },
  responses: { 200: jsonAnswer(MessagingGroup, "the messaging group"), ...errorAnswers(400, 413, 415) },
});

const listGroups = createRoute({
  method: "get",
  path: "/v1/registry/messaging-groups",
  summary: "Every messaging group",
  responses: { 200: jsonAnswer(z.array(MessagingGroup), "messaging groups"), ...errorAnswers() },
});

const getGroup = createRoute({
  method: "get",
  path: "/v1/registry/messaging-groups/{id}",
  summary: "One messaging group",
  request: { params: MessagingGroupIdParam },
  responses: { 200: jsonAnswer(MessagingGroup, "the messaging group"), ...errorAnswers(400, 404) },
});

const groupWirings = createRoute({
  method: "get",
  path: "/v1/registry/messaging-groups/{id}/wirings",
  summary: "A messaging group's wirings in routing order (priority descending, then id)",
  request: { params: MessagingGroupIdParam },
  responses: { 200: jsonAnswer(z.array(Wiring), "wirings"), ...errorAnswers(400, 404) },
});

const putWiring = createRoute({
  method: "post",
  path: "/v1/registry/wirings",
  summary: "Creates a wiring (id generated when omitted) or replaces the one with that id",
  request: { body: jsonBody(WiringBody) },
  responses: { 201: jsonAnswer(Wiring, "the stored wiring"), ...errorAnswers(400, 413, 415) },
});

const listWirings = createRoute({
  method: "get",
  path: "/v1/registry/wirings",
  summary: "Every wiring, highest priority first",
  responses: { 200: jsonAnswer(z.array(Wiring), "wirings"), ...errorAnswers() },
});

const deleteWiring = createRoute({
  method: "delete",
  path: "/v1/registry/wirings/{id}",
  summary: "Deletes a wiring",
  request: { params: WiringIdParam },
  responses: { 200: jsonAnswer(z.object({ deleted: z.string() }), "deleted"), ...errorAnswers(400, 404) },
});

const addDestination = createRoute({
  method: "post",
  path: "/v1/registry/destinations",
  summary: "Permits an agent to send to a channel target (idempotent)",
  request: { body: jsonBody(DestinationBody) },
  responses: { 201: jsonAnswer(Destination, "the destination"), ...errorAnswers(400, 413, 415) },
});

const checkDestination = createRoute({
  method: "get",
  path: "/v1/registry/destinations/check",
  summary: "Whether an agent may send to a channel target",
  request: { query: DestinationQuery },
  responses: { 200: jsonAnswer(z.object({ allowed: z.boolean() }), "the answer"), ...errorAnswers(400) },
});

/** The messaging-group, wiring and destination routes. */
export function chatRoutes(plane: ControlPlane) {
  // Operator-direct: its writes are audited as the operator's.
  const registry = plane.registry.as("operator");
  return routeGroup()
    .openapi(createGroup, (c) => c.json(registry.getOrCreateMessagingGroup(c.req.valid("json")), 200))
    .openapi(listGroups, (c) => c.json(registry.listMessagingGroups(), 200))
    .openapi(getGroup, (c) => c.json(registry.getMessagingGroup(c.req.valid("param").id), 200))
    .openapi(
      groupWirings,
      (c) => c.json(registry.listWiringsForMessagingGroup(c.req.valid("param").id), 200),
    )
    .openapi(putWiring, (c) => c.json(referencing(() => registry.putWiring(c.req.valid("json"))), 201))
    .openapi(listWirings, (c) => c.json(registry.listWirings(), 200))
    .openapi(deleteWiring, (c) => {
      const { id } = c.req.valid("param");
      registry.deleteWiring(id);
      return c.json({ deleted: id }, 200);
    })
    .openapi(
      addDestination,
      (c) => c.json(referencing(() => registry.addDestination(c.req.valid("json"))), 201),
    )
    .openapi(
      checkDestination,
      (c) => c.json({ allowed: registry.checkDestination(c.req.valid("query")) }, 200),
    );
}
