/**
 * A group of routes: the API is these groups joined with `app.route()`, so
 * the app's type carries every route and `hc<ApiApp>` (`client.ts`) is typed
 * by them.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "./env.ts";
import { describeIssues, fail } from "./errors.ts";

/** An empty group whose failed validations answer 400 naming the field, as every route's do. */
export function routeGroup(): OpenAPIHono<ApiEnv> {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return fail(c, 400, describeIssues(result.error));
    },
  });
}
