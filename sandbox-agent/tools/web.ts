/**
 * `http_fetch` and `web_search`: the agent's web, through the host's egress
 * broker on `egress.sock`. The broker does all network work host-side (which
 * hosts a human approved, the address check, TLS, credentials, HTML to
 * text); these tools send JSON and return the broker's text (what the web
 * said fenced as untrusted tool output), its refusals included, which the model reads as ordinary output and can act on
 * (`request_api_access`).
 *
 * @module
 */
import {
  EGRESS_BROKER_HOST,
  EGRESS_FETCH_PATH,
  EGRESS_SEARCH_PATH,
  EgressError,
  FetchRequest,
  FetchResult,
  SearchRequest,
  SearchResult,
} from "../../contract/egress.ts";
import { callBroker } from "./broker_call.ts";
import { defineTool, type Tool, type ToolContext, ToolError } from "./tool.ts";
import { untrustedOutput } from "./untrusted.ts";

function callEgress(ctx: ToolContext, path: string, body: unknown): Promise<unknown> {
  if (!ctx.egress) throw new ToolError("this agent has no egress broker: the web is out of reach");
  return callBroker(ctx.egress, {
    broker: "egress broker",
    url: `http://${EGRESS_BROKER_HOST}${path}`,
    body,
    refusal: EgressError,
  });
}

/** `http_fetch`: one HTTP request to an approved host, the answer as readable text. */
export const httpFetch: Tool = defineTool({
  name: "http_fetch",
  description:
    "Fetch a URL (http or https) from a host a human approved for you (request_api_access asks for one). " +
    "Returns the status, the content type and the body as text; web pages come back as readable Markdown.",
  input: FetchRequest,
  async invoke(input, ctx) {
    const r = FetchResult.parse(await callEgress(ctx, EGRESS_FETCH_PATH, input));
    const head = [
      `status: ${r.status}`,
      r.contentType ? `content-type: ${r.contentType}` : "",
      `url: ${r.url}`,
    ];
    const note = r.truncated ? "\n\n(truncated: the body was longer than the broker's cap)" : "";
    // The page is the web's words, not the user's: fenced as untrusted; the broker's own lines are not.
    return {
      text: `${head.filter((l) => l).join("\n")}\n\n${
        untrustedOutput(`the web page ${r.url}`, r.text)
      }${note}`,
    };
  },
});

/** `web_search`: a web search through the backend the host chose. */
export const webSearch: Tool = defineTool({
  name: "web_search",
  description:
    "Search the web. Returns numbered results with title, URL and snippet; fetch a result with http_fetch.",
  input: SearchRequest,
  async invoke(input, ctx) {
    const r = SearchResult.parse(await callEgress(ctx, EGRESS_SEARCH_PATH, input));
    if (r.results.length === 0) {
      return { text: `no results for ${JSON.stringify(input.query)} (${r.backend})` };
    }
    const blocks = r.results.map((h, i) => `${i + 1}. ${h.title}\n   ${h.url}\n   ${h.snippet}`);
    return {
      text: `results for ${JSON.stringify(input.query)} (${r.backend}):\n\n${
        untrustedOutput(`the search backend ${r.backend}`, blocks.join("\n\n"))
      }`,
    };
  },
});
