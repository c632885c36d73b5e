/**
 * All routes of the test server, registered in Django's URL order.
 *
 * @module
 */
import type { Router } from "../router.ts";
import { register as registerAuth } from "./auth.ts";
import { register as registerStatus } from "./status.ts";
import { register as registerProjects } from "./projects.ts";
import { register as registerFiles } from "./files.ts";
import { register as registerJobs } from "./jobs.ts";
import { register as registerPackages } from "./packages.ts";
import { register as registerDeltas } from "./deltas.ts";
import { register as registerCollaborators } from "./collaborators.ts";
import { register as registerMembers } from "./members.ts";
import { register as registerTeams } from "./teams.ts";
import { register as registerUsers } from "./users.ts";
import { register as registerSubscriptions } from "./subscriptions.ts";

/**
 * Registers every route on a router.
 *
 * @example
 * ```ts
 * import { Router } from "../router.ts";
 * import { ServerState } from "../server_state.ts";
 * import { registerRoutes } from "./mod.ts";
 * registerRoutes(new Router(new ServerState()));
 * ```
 */
export function registerRoutes(router: Router): void {
  registerAuth(router);
  registerStatus(router);
  registerProjects(router);
  registerFiles(router);
  registerJobs(router);
  registerPackages(router);
  registerDeltas(router);
  registerCollaborators(router);
  registerMembers(router);
  registerTeams(router);
  registerUsers(router);
  registerSubscriptions(router);
}
