/**
 * Idempotent hand-over between the host's two stores (the state database and
 * a session's queues): ids computed from the event a row comes from
 * ({@link stableId}), and a write that finds the row already there instead
 * of writing a twin ({@link writeOnce}). The router, delivery, the
 * scheduler, the question desk and the web chat hand rows over this way.
 *
 * ```ts
 * const a = await stableId("tsk", "ses_1", "msg_1");
 * console.assert(a === await stableId("tsk", "ses_1", "msg_1"));
 * console.assert(a.startsWith("tsk_"));
 * ```
 *
 * @module
 */
export { isDuplicateRow, stableId, writeOnce } from "./write_once.ts";
