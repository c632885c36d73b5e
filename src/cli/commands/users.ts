/**
 * Account commands: `create-user` (staff only) and `current-subscription`.
 *
 * @module
 */

import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import type { CliContext } from "../context.ts";
import { CliUsageError } from "../errors.ts";
import { formatBytes } from "../output.ts";
import { resolvePassword } from "../prompt.ts";
import { printRecord } from "./common.ts";

/** Who the client is logged in as, when the CLI can tell without asking the server. */
async function loggedInUsername(ctx: CliContext, url: string): Promise<string | undefined> {
  const globals = ctx.globals;
  // A token (option or environment) wins over -u/-p in CliContext.client(): its user is unknown.
  if (globals.token) return undefined;
  if (globals.username) return globals.username;
  return (await ctx.credentials.get(url).catch(() => undefined))?.username;
}

/**
 * Adds `create-user` and `current-subscription`.
 *
 * @example
 * ```ts ignore
 * registerUserCommands(program, ctx);
 * ```
 */
export function registerUserCommands(program: CommandUnknownOpts, ctx: CliContext): void {
  program.command("create-user")
    .description(
      "Create a user account. Only staff users may do this (instance admins, is_staff). Without a\n" +
        "password, prompts for it (no echo) when stdin is a terminal; --password-stdin keeps it\n" +
        "out of the shell history.",
    )
    .argument("<username>", "Username of the new account.")
    .argument("[password]", "Its password (prefer the prompt or --password-stdin).")
    .argument("[email]", "Its e-mail address.")
    .option("--email <email>", "Its e-mail address (instead of the argument).")
    .option("--password-stdin", "Read the password from the first line of standard input.")
    .option("--exist-ok", "Succeed when the user already exists. Default: fail.")
    .action(async (username, passwordArg, emailArg, options) => {
      if (emailArg !== undefined && options.email !== undefined && emailArg !== options.email) {
        throw new CliUsageError(
          `Two e-mail addresses given: "${emailArg}" and --email "${options.email}"`,
        );
      }
      if (!passwordArg && !options.passwordStdin && !ctx.io.stdinIsTerminal) {
        throw new CliUsageError(
          `No password for the new user "${username}": pass --password-stdin or run in a terminal to be prompted`,
        );
      }
      const password = await resolvePassword(ctx.io, {
        username,
        given: passwordArg,
        fromStdin: options.passwordStdin,
      });
      ctx.out.addSecret(password);
      const email = options.email ?? emailArg;
      const created = await (await ctx.client()).createUser(username, password, {
        email,
        existOk: options.existOk ?? false,
      });
      const result = created
        ? { ...created, created: true }
        : { username, email: email ?? null, created: false };
      ctx.out.result(result, () => {
        ctx.out.line(
          created ? `Created user "${created.username}".` : `User "${username}" already exists.`,
        );
      });
    });

  program.command("current-subscription")
    .description(
      "Show the current subscription of a user or organization: plan, status and storage. You\n" +
        "may read your own and those of the organizations you own.",
    )
    .argument(
      "[account]",
      "User or organization. Default: the user of -u/--username or of the saved login.",
    )
    .action(async (accountArg) => {
      const client = await ctx.client();
      const account = accountArg ?? await loggedInUsername(ctx, client.url);
      if (!account) {
        throw new CliUsageError(
          "Missing account: pass the user or organization name (a token alone does not tell it)",
        );
      }
      const sub = await client.getCurrentSubscription(account);
      ctx.out.result(sub, () => {
        const free = Math.max(0, sub.active_storage_total_bytes - sub.storage_used_bytes);
        printRecord(ctx.out, {
          account,
          plan: `${sub.plan_display_name} (${sub.plan_code})`,
          premium: sub.plan_is_premium ? "yes" : "no",
          status: sub.status,
          active_since: sub.active_since,
          active_until: sub.active_until,
          storage_used: formatBytes(sub.storage_used_bytes),
          storage_total: formatBytes(sub.active_storage_total_bytes),
          storage_free: formatBytes(free),
        });
      });
    });
}
