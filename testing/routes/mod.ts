/**
 * All routes of the test server, registered in Django's URL order.
 *
 * @module
 */
import type { Router } from "../router.ts";
import type { ServerState } from "../state.ts";
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
 * import { ServerState } from "../state.ts";
 * import { registerRoutes } from "./mod.ts";
 * const state = new ServerState();
 * registerRoutes(new Router(state), state);
 * ```
 */
export function registerRoutes(router: Router, state: ServerState): void {
  registerAuth(router, state);
  registerStatus(router, state);
  registerProjects(router, state);
  registerFiles(router, state);
  registerJobs(router, state);
  registerPackages(router, state);
  registerDeltas(router, state);
  registerCollaborators(router, state);
  registerMembers(router, state);
  registerTeams(router, state);
  registerUsers(router, state);
  registerSubscriptions(router, state);
}
