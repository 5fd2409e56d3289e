/**
 * A fetched body as text the agent can read. HTML goes through Mozilla's
 * Readability (the article, without navigation, scripts or styles) and then
 * Turndown (Markdown), host-side on a server-side DOM that runs no script;
 * other text passes as it is; binary is described, never relayed.
 *
 * @module
 */
import { Readability } from "@mozilla/readability";
import { parseDocument } from "./dom.ts";
// @ts-types="@types/turndown"
import TurndownService from "turndown";

/** The media type without parameters, lower-case ("" when absent). */
export function mediaType(contentType: string | null): string {
  return (contentType ?? "").split(";")[0].trim().toLowerCase();
}

function isHtml(type: string): boolean {
  return type === "text/html" || type === "application/xhtml+xml";
}

function isText(type: string): boolean {
  return type === "" || type.startsWith("text/") ||
    /[+/](json|xml|javascript|x-www-form-urlencoded)$/.test(type) ||
    type === "application/json";
}

/** The text of `body` (of media type `type`) for the agent. */
export function readableText(body: Uint8Array, type: string): string {
  if (isHtml(type)) return htmlToMarkdown(new TextDecoder().decode(body));
  if (isText(type)) return new TextDecoder().decode(body);
  return `(${body.length} bytes of ${type}, not shown: only text is returned)`;
}

/** The readable part of an HTML page as Markdown, with its title as a heading. */
export function htmlToMarkdown(html: string): string {
  const turndown = new TurndownService({ headingStyle: "atx", codeBlockStyle: "fenced" });
  turndown.remove(["script", "style", "noscript", "iframe", "object", "embed", "template"]);
  const document = parseDocument(html);
  const article = new Readability(document as never).parse();
  // Readability gives up on pages with little text; then the whole body is converted (scripts removed above).
  const content = article?.content ?? document.body?.innerHTML ?? "";
  const markdown = turndown.turndown(parseDocument(content).body as never);
  const title = article?.title?.trim() || document.title?.trim();
  return title ? `# ${title}\n\n${markdown}` : markdown;
}
