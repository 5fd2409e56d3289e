/**
 * HTTP body helpers shared by the API, the model proxy and the channels:
 * {@link readCapped} reads a whole body up to a byte limit (the API's body
 * limit, the proxy's request cap, a channel's file download), and
 * {@link countingStream} passes a body through while counting its bytes.
 *
 * ```ts
 * const body = new Response("hello").body;
 * console.assert((await readCapped(body, 5))?.length === 5);
 * console.assert(await readCapped(new Response("too long").body, 5) === undefined);
 * ```
 *
 * @module
 */
export { countingStream, readCapped } from "./body.ts";
