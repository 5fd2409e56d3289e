/**
 * The API's typed client: Hono's `hc` over {@link ApiApp}, so each call's
 * path, inputs and answers are the routes' own types, and a changed route
 * breaks its callers' build (the CLI's and the tests').
 *
 * @module
 */
import { type ClientRequestOptions, hc } from "hono/client";
import type { ApiApp } from "./app.ts";

/** The routes as methods: `api.v1.changes.pending.$get()`, `api.v1.changes[":id"].$get({ param })`, … */
export type ApiRpc = ReturnType<typeof hc<ApiApp>>;

/** A typed client of the API at `baseUrl` (`options.fetch` may serve it in-process: `app.request`). */
export function apiClient(baseUrl: string, options: ClientRequestOptions = {}): ApiRpc {
  return hc<ApiApp>(baseUrl, options);
}
