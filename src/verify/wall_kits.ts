/**
 * The wall kits of `ironclaw verify`, in the order their walls are reported.
 * Adding a group of walls is one line here (see `wall_kit.ts`).
 *
 * @module
 */
import { auditWalls } from "./audit_walls.ts";
import { custodyWalls } from "./custody_walls.ts";
import { diskWalls } from "./disk_walls.ts";
import { egressWalls } from "./egress_walls.ts";
import { isolationWalls } from "./isolation_walls.ts";
import { mcpWalls } from "./mcp_walls.ts";
import { mountWalls } from "./mount_walls.ts";
import { spareWalls } from "./spare_walls.ts";
import type { WallKit } from "./wall_kit.ts";

/** Every kit a verification run arms. */
export const WALL_KITS: readonly WallKit[] = [
  isolationWalls,
  custodyWalls,
  diskWalls,
  egressWalls,
  mcpWalls,
  mountWalls,
  spareWalls,
  auditWalls,
];
