/**
 * Bounded body reading and byte-counted pass-through.
 *
 * @module
 */

/**
 * Reads a whole body, or returns undefined (and cancels the stream) once it
 * exceeds `limit` bytes.
 *
 * The reader is never released: a stream read to its end needs no release,
 * and releasing one rejects its `closed` promise with a fresh `TypeError`
 * whose stack capture cost more than the read itself (`for await` releases at
 * the end; a model call and an API request each read one or two bodies).
 */
export async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (body === null) return new Uint8Array();
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * `body` passed through chunk by chunk, pulling upstream only when the
 * reader asks (nothing is buffered). `onEnd` gets the byte count once, when
 * the stream finishes, fails or is cancelled.
 */
export function countingStream(
  body: ReadableStream<Uint8Array>,
  onEnd: (bytes: number) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let bytes = 0;
  let ended = false;
  const end = () => {
    if (!ended) {
      ended = true;
      onEnd(bytes);
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          end();
          controller.close();
        } else {
          bytes += value.byteLength;
          controller.enqueue(value);
        }
      } catch (error) {
        end();
        controller.error(error);
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
