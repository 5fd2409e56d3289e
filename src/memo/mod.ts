/**
 * Memos of the host's hot lookups ({@link BoundedMemo}): the router's chats
 * and access, the usage meter's session groups.
 *
 * ```ts
 * const groups = new BoundedMemo<string, string>(4096);
 * console.assert(groups.get("ses_1", () => "demo") === "demo");
 * groups.clear();
 * ```
 *
 * @module
 */
export { BoundedMemo } from "./bounded_memo.ts";
