/**
 * What the approver of an `mcp_access` change is shown, recorded as the
 * change is proposed, whoever proposes it (`ironclaw mcp grant`, the API, or
 * an agent's own request): each tool the grant names, as its server offers it
 * at that moment. The approval pins exactly that. A grant whose tools cannot
 * be shown (the server cannot be asked, a named tool is not offered) is
 * refused: nobody approves tools they cannot see.
 *
 * @module
 */
import type { McpAccessPayload, McpRegisterPayload } from "../../contract/changes.ts";
import type { ChangeId } from "../../contract/ids.ts";
import type { McpCatalog } from "./catalog.ts";
import type { McpConnections } from "./connections.ts";
import type { McpPins } from "./pins.ts";

/** What the offers are read from and recorded in. */
export interface McpOffersDeps {
  catalog: Pick<McpCatalog, "has">;
  connections: Pick<McpConnections, "listTools">;
  pins: Pick<McpPins, "recordOffer">;
  /** Why a registration could not run on this host, if so (see `registrationProblem`). */
  checkRegistration?: (server: McpRegisterPayload) => string | undefined;
}

/** The catalog as the gateway's `mcp` verifier sees it, recording each grant's offer. */
export class McpOffers {
  readonly #deps: McpOffersDeps;

  constructor(deps: McpOffersDeps) {
    this.#deps = deps;
  }

  has(name: string): boolean {
    return this.#deps.catalog.has(name);
  }

  checkRegistration(server: McpRegisterPayload): string | undefined {
    return this.#deps.checkRegistration?.(server);
  }

  /** Records the tools `grant` names as offered now; returns why it cannot. */
  async recordOffer(changeId: string, grant: McpAccessPayload): Promise<string | undefined> {
    const { server, tools } = grant;
    let offered;
    try {
      offered = await this.#deps.connections.listTools(server);
    } catch (err) {
      return `${server} could not be asked for its tools, so they cannot be shown for approval: ${
        (err as Error).message.split("\n")[0]
      }`;
    }
    const unknown = (tools ?? []).filter((t) => !offered.some((o) => o.name === t));
    if (unknown.length > 0) {
      return `${server} offers no ${unknown.join(", ")} (it offers ${offered.map((o) => o.name).join(", ")})`;
    }
    const shown = tools?.length ? offered.filter((o) => tools.includes(o.name)) : offered;
    this.#deps.pins.recordOffer(changeId as ChangeId, server, shown);
    return undefined;
  }
}
