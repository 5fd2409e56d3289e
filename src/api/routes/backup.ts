/**
 * `POST /v1/backup`: a consistent snapshot of the plane's state directory
 * (see `src/backup`), made by the plane because it holds the directory's
 * lock and the only writers. The answer is the backup file itself, still
 * encrypted; the caller decides where it is kept (the plane writes nowhere).
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { ControlPlane } from "../../control_plane/mod.ts";
import { takeSnapshot } from "../../backup/mod.ts";
import { routeGroup } from "../route_group.ts";
import { errorAnswers } from "../openapi.ts";

/** The media type of a backup file. */
export const BACKUP_MEDIA_TYPE = "application/vnd.ironclaw.backup";

const backup = createRoute({
  method: "post",
  path: "/v1/backup",
  summary: "A consistent, still-encrypted snapshot of the state directory, as one checksummed file",
  responses: {
    200: {
      description: "the backup file",
      content: { [BACKUP_MEDIA_TYPE]: { schema: z.string().openapi({ format: "binary" }) } },
    },
    ...errorAnswers(),
  },
});

/** The backup route. */
export function backupRoutes(plane: ControlPlane) {
  return routeGroup().openapi(backup, async (c) => {
    const snapshot = await takeSnapshot({
      stateDir: plane.stateDir,
      state: plane.state,
      audit: plane.audit,
      lease: (sessionId) => plane.queues.lease(sessionId),
    });
    return c.body(snapshot.bytes, 200, { "content-type": BACKUP_MEDIA_TYPE });
  });
}
