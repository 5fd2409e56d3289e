/**
 * Server-sent-event responses for the mock.
 *
 * @module
 */

/** A `text/event-stream` response sending each frame as its own chunk. */
export function sseResponse(frames: readonly string[]): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const frame of frames) controller.enqueue(encoder.encode(frame));
      controller.close();
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

/** Splits text into word-sized deltas, so clients exercise their accumulation. */
export function textChunks(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? [text];
}

/** Splits serialized JSON into fixed-size pieces (partial JSON deltas). */
export function jsonChunks(json: string, size = 8): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < json.length; i += size) chunks.push(json.slice(i, i + size));
  return chunks;
}
