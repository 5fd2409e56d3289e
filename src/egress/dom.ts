/**
 * A server-side HTML DOM (linkedom, which runs no script), typed by the
 * little the broker reads from it: the host program has no DOM types.
 *
 * @module
 */
import { parseHTML } from "linkedom";

/** An element, as far as the broker reads one. */
export interface HtmlElement {
  readonly textContent: string | null;
  readonly innerHTML: string;
  readonly classList: { contains(name: string): boolean };
  getAttribute(name: string): string | null;
  querySelector(selector: string): HtmlElement | null;
  querySelectorAll(selector: string): Iterable<HtmlElement>;
}

/** A parsed document. */
export interface HtmlDocument {
  readonly title: string;
  readonly body: HtmlElement;
  querySelectorAll(selector: string): Iterable<HtmlElement>;
}

/** Parses `html` into a document; a fragment is wrapped in a body first. */
export function parseDocument(html: string): HtmlDocument {
  const full = /<html[\s>]/i.test(html) ? html : `<html><body>${html}</body></html>`;
  return (parseHTML(full) as unknown as { document: HtmlDocument }).document;
}
