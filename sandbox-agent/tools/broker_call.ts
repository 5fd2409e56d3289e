/**
 * One JSON call to a host broker over its socket (the egress broker, the MCP
 * broker): a POST of `body`, or a GET without one. A broker that cannot be
 * reached or refuses becomes a {@link ToolError} the model reads: the
 * broker's own one-line `{error}` when it gave one.
 *
 * @module
 */
import type { z } from "zod";
import { ToolError } from "./tool_error.ts";

/** One call: `broker` names the broker in errors ("egress broker"); `refusal` is its wire's `{error}` schema. */
export interface BrokerRequest {
  broker: string;
  url: string;
  body?: unknown;
  refusal: z.ZodType<{ error: string }>;
}

/** Calls `request.url` through `brokerFetch`. */
export async function callBroker(brokerFetch: typeof fetch, request: BrokerRequest): Promise<unknown> {
  const { broker, url, body } = request;
  let response: Response;
  try {
    response = await brokerFetch(
      url,
      body === undefined ? undefined : {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      },
    );
  } catch {
    throw new ToolError(`the host's ${broker} is not reachable`);
  }
  const json = await response.json().catch(() => undefined);
  if (!response.ok) {
    throw new ToolError(
      request.refusal.safeParse(json).data?.error ?? `${broker} answered ${response.status}`,
    );
  }
  return json;
}
