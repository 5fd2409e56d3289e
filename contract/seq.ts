/**
 * Sequence numbers: the host's inbound rows are even, the sandbox's outbound
 * rows odd, so the two streams never collide. The seq is minted inside the
 * INSERT (never read, then written), so concurrent writer handles, even in
 * separate processes, get distinct values under SQLite's write lock.
 *
 * @module
 */

/** SQL: the smallest even seq above every inbound seq (2 for an empty table). */
export const NEXT_EVEN_SEQ_SQL = "((COALESCE((SELECT MAX(seq) FROM messages_in), 0) / 2) + 1) * 2";

/** SQL: the smallest odd seq above every outbound seq (1 for an empty table). */
export const NEXT_ODD_SEQ_SQL = "(COALESCE((SELECT MAX(seq) FROM messages_out), -1) + 1) | 1";

/** Reference of {@link NEXT_EVEN_SEQ_SQL} for a known maximum (undefined = empty). */
export function nextEvenSeq(max: number | undefined): number {
  return (Math.floor((max ?? 0) / 2) + 1) * 2;
}

/** Reference of {@link NEXT_ODD_SEQ_SQL} for a known maximum (undefined = empty). */
export function nextOddSeq(max: number | undefined): number {
  return ((max ?? -1) + 1) | 1;
}
