/**
 * `GET subscriptions/<username>/current/`
 * (`subscription/views.py::RetrieveCurrentSubscriptionView`).
 *
 * Permissions as in the server: authenticated, the account must exist, and
 * `permissions_utils.can_read_billing` must allow it: users read their own,
 * an organization's only its owner reads; everything else is `403`. The body
 * has the fields of `CurrentSubscriptionSerializer`. Every account is on a
 * free default plan, active since the account was created, whose storage is
 * the server's `storageQuotaBytes` (an unlimited quota is reported as
 * `Number.MAX_SAFE_INTEGER`, since JSON has no infinity).
 *
 * @module
 */
import { ApiError, type RequestContext, type Router } from "../router.ts";
import { formatDateTime } from "../dates.ts";
import type { User } from "../entities.ts";

/** Subscription ids, stable per account for the server's lifetime. */
const SUBSCRIPTION_IDS = new WeakMap<User, string>();

function subscriptionId(account: User): string {
  let id = SUBSCRIPTION_IDS.get(account);
  if (!id) {
    id = crypto.randomUUID();
    SUBSCRIPTION_IDS.set(account, id);
  }
  return id;
}

/** `permissions_utils.can_read_billing`. */
function canReadBilling(user: User, account: User): boolean {
  if (user === account) return true;
  return account.type === "organization" && account.owner === user;
}

function currentSubscription(ctx: RequestContext): Response {
  const user = ctx.requireUser();
  const account = ctx.state.findUser(ctx.params.username);
  if (!account || !canReadBilling(user, account)) throw new ApiError("permission_denied");
  const organization = account.type === "organization";
  const quota = ctx.state.storageQuotaBytes;
  return ctx.json({
    uuid: subscriptionId(account),
    plan_display_name: organization ? "Default organization plan" : "Default user plan",
    plan_code: organization ? "default_org" : "default_user",
    plan_is_premium: false,
    status: "active_paid",
    active_since: formatDateTime(account.dateJoined),
    active_until: null,
    storage_used_bytes: ctx.state.storageUsedBytes(account),
    active_storage_total_bytes: Number.isFinite(quota) ? quota : Number.MAX_SAFE_INTEGER,
  });
}

/**
 * Registers `GET subscriptions/<username>/current/`.
 *
 * @example
 * ```ts
 * import { Router } from "../router.ts";
 * import { ServerState } from "../server_state.ts";
 * import { register } from "./subscriptions.ts";
 * register(new Router(new ServerState()));
 * ```
 */
export function register(router: Router): void {
  router.add("GET", "subscriptions/<str:username>/current/", currentSubscription);
}
