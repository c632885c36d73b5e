/**
 * `login`, `logout` and `status`.
 *
 * @module
 */

import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import type { CliContext } from "../context.ts";
import { CliUsageError } from "../errors.ts";
import { ExitCode } from "../exit_codes.ts";
import { resolvePassword } from "../prompt.ts";

/** The line that puts the token in the environment, for the user's shell. */
export function exportLine(os: string, token: string): string {
  return os === "windows"
    ? `set QFIELDCLOUD_TOKEN=${token}`
    : `export QFIELDCLOUD_TOKEN="${token}"`;
}

/**
 * Adds `login`, `logout` and `status`.
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
        "the credentials file, which later commands use when no token is given. Without a\n" +
        "password, prompts for it (no echo) when stdin is a terminal.",
    )
    .argument("[username]", "Username or email. Default: -u/--username or QFIELDCLOUD_USERNAME.")
    .argument("[password]", "Password. Default: -p/--password or QFIELDCLOUD_PASSWORD.")
    .option("--password-stdin", "Read the password from the first line of standard input.")
    .option("--no-save", "Do not save the token in the credentials file.")
    .action(async (usernameArg, passwordArg, options) => {
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
          `The token is saved in ${savedTo}; later commands use it. To use it elsewhere:`,
        );
      } else {
        ctx.out.notice("Put the token in the environment so you need not log in again:");
      }
      ctx.out.secretLine(exportLine(ctx.io.os, answer.token));
    });

  program.command("logout")
    .description(
      "Log out and remove the saved token. Beware: the server expires EVERY token of the user,\n" +
        "QField on phones, QFieldSync and other scripts included.",
    )
    .action(async () => {
      const stored = await ctx.credentials.get(ctx.globals.url).catch(() => undefined);
      const who = stored?.username ?? ctx.globals.username;
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
