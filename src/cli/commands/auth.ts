/**
 * `login` (with a password, or `--sso`), `logout`, `whoami` and `status`.
 *
 * @module
 */

import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import type { CliContext } from "../context.ts";
import { CliUsageError } from "../errors.ts";
import { ExitCode } from "../exit_codes.ts";
import { resolvePassword } from "../prompt.ts";
import { ssoLogin } from "./sso_login.ts";
import { registerWhoamiCommand } from "./whoami.ts";

/** The line that puts the token in the environment, for the user's shell. */
export function exportLine(os: string, token: string): string {
  return os === "windows"
    ? `set QFIELDCLOUD_TOKEN=${token}`
    : `export QFIELDCLOUD_TOKEN="${token}"`;
}

/**
 * Forgets a single sign-on session. The server has no way to end one (its
 * `auth/logout/` only expires API tokens), so nothing is sent.
 */
async function forgetSsoSession(ctx: CliContext, providerName: string): Promise<void> {
  const url = ctx.globals.url;
  const removed = await ctx.credentials.remove(url);
  const idp =
    `Your sign-in at ${providerName} in the browser is not affected: sign out there to end it.`;
  ctx.out.result({
    detail: "Forgot the single sign-on session.",
    credentials_removed: removed,
    identity_provider_session: "unaffected",
  }, () => {
    ctx.out.line(
      `Forgot the single sign-on session for ${url} (removed from ${ctx.credentials.path}).`,
    );
    ctx.out.line(idp);
  });
}

/**
 * Adds `login`, `logout`, `whoami` and `status`.
 *
 * @example
 * ```ts ignore
 * registerAuthCommands(program, ctx);
 * ```
 */
export function registerAuthCommands(program: CommandUnknownOpts, ctx: CliContext): void {
  program.command("login")
    .description(
      "Log in to QFieldCloud. Prints the line that sets QFIELDCLOUD_TOKEN and saves the token in\n" +
        "the credentials file, which later commands use when no token is given; the server\n" +
        "becomes the default of later commands (-U and QFIELDCLOUD_URL still win). Without a\n" +
        "password, prompts for it (no echo) when stdin is a terminal. With --sso, signs in\n" +
        "through the server's identity provider in a browser instead, and saves the session.",
    )
    .argument("[username]", "Username or email. Default: -u/--username or QFIELDCLOUD_USERNAME.")
    .argument("[password]", "Password. Default: -p/--password or QFIELDCLOUD_PASSWORD.")
    .option("--password-stdin", "Read the password from the first line of standard input.")
    .option("--no-save", "Do not save the token in the credentials file.")
    .option("--sso", "Sign in through the server's identity provider (single sign-on).")
    .option("--provider <id>", "With --sso: the identity provider, when the server has several.")
    .option(
      "--no-browser",
      "With --sso: do not open a browser; open the printed URL yourself, on any machine.",
    )
    .action(async (usernameArg, passwordArg, options) => {
      if (options.sso) {
        if (usernameArg !== undefined || passwordArg !== undefined || options.passwordStdin) {
          throw new CliUsageError("--sso takes no username or password: the browser asks for them");
        }
        if (!options.save) {
          throw new CliUsageError(
            "--sso cannot be used with --no-save: the session lives in the credentials file",
          );
        }
        await ssoLogin(ctx, { provider: options.provider, browser: options.browser });
        return;
      }
      if (options.provider !== undefined || !options.browser) {
        throw new CliUsageError("--provider and --no-browser go with --sso");
      }
      const globals = ctx.globals;
      const username = usernameArg ?? globals.username;
      if (!username) {
        throw new CliUsageError(
          "Missing username: pass it as an argument, with -u/--username or in QFIELDCLOUD_USERNAME",
        );
      }
      const password = await resolvePassword(ctx.io, {
        username,
        given: passwordArg ?? globals.password,
        fromStdin: options.passwordStdin,
      });
      ctx.out.addSecret(password);
      const client = await ctx.client({ auth: false });
      const answer = await client.login(username, password);
      let savedTo: string | undefined;
      if (options.save) {
        await ctx.credentials.save({
          url: client.url,
          token: answer.token,
          username: answer.username,
          expires_at: answer.expires_at ?? null,
        });
        savedTo = ctx.credentials.path;
      }
      if (ctx.out.json) {
        ctx.out.secretJson(answer);
        return;
      }
      ctx.out.notice(`Welcome to QFieldCloud, ${answer.username}.`);
      if (savedTo) {
        ctx.out.notice(
          `The token is saved in ${savedTo}; later commands use it, and ${client.url} is ` +
            "their default server. To use the token elsewhere:",
        );
      } else {
        ctx.out.notice("Put the token in the environment so you need not log in again:");
      }
      ctx.out.secretLine(exportLine(ctx.io.os, answer.token));
    });

  program.command("logout")
    .description(
      "Log out and remove the saved login. Beware: the server expires EVERY token of the user,\n" +
        "QField on phones, QFieldSync and other scripts included. A single sign-on session is\n" +
        "forgotten here; the sign-in at the identity provider in the browser is not affected.",
    )
    .action(async () => {
      const globals = ctx.globals;
      const stored = await ctx.credentials.peek(globals.url).catch(() => undefined);
      if (!stored && !globals.token && !ctx.implicitLogin) {
        const removed = await ctx.credentials.remove(globals.url);
        ctx.out.result({ detail: "Not logged in.", credentials_removed: removed }, () => {
          ctx.out.line(`Not logged in to ${globals.url}; nothing to do.`);
        });
        return;
      }
      if (stored?.sso && !globals.token && !ctx.implicitLogin) {
        await forgetSsoSession(ctx, stored.sso.provider.name);
        return;
      }
      const usable = await ctx.credentials.get(globals.url).catch(() => undefined);
      if (stored && !usable && !globals.token && !ctx.implicitLogin) {
        // An expired token expires nothing on the server: forget it, ask nothing.
        const removed = await ctx.credentials.remove(globals.url);
        ctx.out.result(
          { detail: "The saved login had expired.", credentials_removed: removed },
          () => {
            ctx.out.line(
              `The saved login for ${globals.url} had expired; forgot it (removed from ${ctx.credentials.path}).`,
            );
          },
        );
        return;
      }
      const who = stored?.username ?? globals.username;
      ctx.out.warn(
        `Logging out expires every token of ${who ? `"${who}"` : "the user"} on the server, ` +
          "including QField on phones, QFieldSync and other scripts",
      );
      const client = await ctx.client();
      const hadToken = client.token !== undefined;
      const answer = await client.logout();
      const removed = await ctx.credentials.remove(client.url);
      ctx.out.result({ ...answer, credentials_removed: removed }, () => {
        ctx.out.line(hadToken ? answer.detail : "No token was in use; nothing to expire.");
        if (removed) ctx.out.line(`Removed the saved token from ${ctx.credentials.path}.`);
      });
    });

  registerWhoamiCommand(program, ctx);

  program.command("status")
    .description("Check the status of the QFieldCloud server. Exits 12 if it reports an error.")
    .action(async () => {
      const client = await ctx.client({ auth: false });
      const status = await client.checkServerStatus();
      ctx.out.result(status, () => {
        const rows: [string, string][] = [
          ["database", status.database],
          ["storage", status.storage],
        ];
        const extra = status as unknown as Record<string, unknown>;
        for (
          const key of [
            "incident_message",
            "incident_timestamp_utc",
            "maintenance_message",
            "maintenance_start_timestamp_utc",
            "maintenance_end_timestamp_utc",
            "status_page_url",
          ]
        ) {
          if (extra[key] !== null && extra[key] !== undefined) rows.push([key, String(extra[key])]);
        }
        ctx.out.table(rows, [
          { header: "CHECK", value: (row) => row[0] },
          { header: "STATUS", value: (row) => row[1] },
        ]);
      });
      if (status.database !== "ok" || status.storage !== "ok") ctx.exitCode = ExitCode.SERVER;
    });
}
