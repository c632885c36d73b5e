/**
 * Server status routes (opengisch/QFieldCloud `docker-app/qfieldcloud/core/views/`
 * `status_views.py` and `server_views.py`): `status/` and `server/info/`.
 *
 * @module
 */
import type { Router } from "../router.ts";
import { CREDENTIALS_PROVIDER } from "./auth.ts";

/**
 * Registers `status/` and `server/info/` (both AllowAny).
 *
 * @example
 * ```ts
 * import { Router } from "../router.ts";
 * import { ServerState } from "../server_state.ts";
 * import { register } from "./status.ts";
 * register(new Router(new ServerState()));
 * ```
 */
export function register(router: Router): void {
  router.add("GET", "status/", (ctx) =>
    ctx.json({
      database: "ok",
      storage: "ok",
      status_page_url: "https://status.qfield.cloud/",
      incident_message: null,
      incident_timestamp_utc: null,
      maintenance_message: null,
      maintenance_start_timestamp_utc: null,
      maintenance_end_timestamp_utc: null,
    }), { allowAnonymous: true });
  router.add("GET", "server/info/", (ctx) =>
    ctx.json({
      whitelabel: {
        site_title: "QFieldCloud",
        logo_navbar: null,
        logo_main: null,
        favicon: null,
      },
      auth_providers: [CREDENTIALS_PROVIDER, ...ctx.state.ssoProviders],
      signup_url: null,
    }), { allowAnonymous: true });
}
