/**
 * The one door to grammY: everything the Telegram channel uses from it,
 * loaded with Node's deprecation warnings silenced for the moment of loading
 * (and only that moment).
 *
 * @module
 */
import "./node_quiet.ts";
export { Api, Bot, GrammyError, HttpError, InputFile, webhookCallback } from "grammy";
export type { ApiClientOptions, RawApi, Transformer } from "grammy";
import "./node_loud.ts";

import type { Api as ApiType } from "grammy";

/** The `AbortSignal` type of grammY's Node build (the abort-controller polyfill's). */
export type ApiSignal = NonNullable<Parameters<ApiType["getMe"]>[0]>;

/** A web `AbortSignal` as grammY's Node typings name it (the same object at run time). */
export function apiSignal(signal: AbortSignal | undefined): ApiSignal | undefined {
  return signal as unknown as ApiSignal | undefined;
}
