/**
 * A conversation's workspace files, for `ironclaw files`: the listing with
 * sizes, and one file's bytes. The agent writes that directory and may be
 * hostile, so it is read as `src/sandbox`'s `workspace_files.ts` says: no
 * symlink is followed out of it, no FIFO is opened, a file is read up to a
 * cap.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { ControlPlane } from "../../control_plane/mod.ts";
import {
  DEFAULT_MAX_READ_BYTES,
  listWorkspace,
  readWorkspaceFile,
  WorkspaceFileError,
} from "../../sandbox/mod.ts";
import { ApiError } from "../errors.ts";
import { errorAnswers, jsonAnswer } from "../openapi.ts";
import { routeGroup } from "../route_group.ts";
import { SessionIdParam } from "../schemas.ts";

const WorkspaceListingView = z.object({
  sessionId: z.string(),
  agentGroupId: z.string(),
  entries: z.array(z.object({
    /** Relative to the workspace, `/`-separated. */
    path: z.string(),
    /** file, dir, symlink (listed, never followed) or other (a FIFO, a socket). */
    type: z.enum(["file", "dir", "symlink", "other"]),
    size: z.number().int(),
    modified: z.string(),
  })),
  /** The listing stopped at its entry cap or depth. */
  truncated: z.boolean(),
}).openapi("WorkspaceListing");

const FileQuery = z.object({ path: z.string().min(1).max(4096) });

const list = createRoute({
  method: "get",
  path: "/v1/sessions/{id}/files",
  summary: "The files in a session's workspace, with sizes (symlinks listed, never followed)",
  request: { params: SessionIdParam },
  responses: { 200: jsonAnswer(WorkspaceListingView, "the listing"), ...errorAnswers(400, 404) },
});

const content = createRoute({
  method: "get",
  path: "/v1/sessions/{id}/files/content",
  summary:
    `One regular file of a session's workspace, up to ${DEFAULT_MAX_READ_BYTES} bytes (never through a symlink out of it)`,
  request: { params: SessionIdParam, query: FileQuery },
  responses: {
    200: {
      description: "the file's bytes",
      content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } },
    },
    ...errorAnswers(400, 404),
  },
});

/** The workspace file routes. */
export function workspaceFileRoutes(plane: ControlPlane) {
  const workspace = (id: string) => {
    const session = plane.registry.getSession(id); // 404 for an unknown session
    return plane.sandboxes.workspaceDir(session.id, session.agentGroupId).then((dir) => ({ session, dir }));
  };
  return routeGroup()
    .openapi(list, async (c) => {
      const { session, dir } = await workspace(c.req.valid("param").id);
      const listing = listWorkspace(dir);
      return c.json({ sessionId: session.id, agentGroupId: session.agentGroupId, ...listing }, 200);
    })
    .openapi(content, async (c) => {
      const { dir } = await workspace(c.req.valid("param").id);
      const { path } = c.req.valid("query");
      try {
        const bytes = readWorkspaceFile(dir, path);
        return c.body(bytes, 200, { "content-type": "application/octet-stream" });
      } catch (err) {
        if (!(err instanceof WorkspaceFileError)) throw err;
        throw new ApiError(err.kind === "not-found" ? 404 : 400, `${path}: ${err.message}`);
      }
    });
}
