/**
 * `whoami`: which server, which user, and how the CLI is logged in (a token and
 * when it expires, or single sign-on and through which provider). Never the
 * token or the session cookies.
 *
 * @module
 */

import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import type { AuthSource, CliContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { ExitCode } from "../exit_codes.ts";

const URL_SOURCES = {
  option: "from -U/--url",
  environment: "from QFIELDCLOUD_URL",
  saved: "the server of the last login",
  default: "the default server",
} as const;

const AUTH_DESCRIPTIONS: Record<AuthSource, string> = {
  "login": "token from logging in with -u/--username just now",
  "token": "token from -t/--token or QFIELDCLOUD_TOKEN",
  "saved-token": "token saved by login",
  "sso": "single sign-on session saved by login --sso",
};

/**
 * Adds `whoami`.
 *
 * @example
 * ```ts ignore
 * registerWhoamiCommand(program, ctx);
 * ```
 */
export function registerWhoamiCommand(program: CommandUnknownOpts, ctx: CliContext): void {
  program.command("whoami")
    .description(
      "Show the server, the user, and how you are logged in: a token and when it expires, or\n" +
        "single sign-on and its provider. Asks the server, so an expired login shows as such.\n" +
        "Exits 3 when not logged in.",
    )
    .action(async () => {
      const client = await ctx.client();
      const globals = ctx.globals;
      const source = ctx.authSource;
      if (!source) {
        throw new CliError(
          `Not logged in to "${client.url}": run "qfieldcloud-cli login" (or "login --sso")`,
          ExitCode.AUTH,
        );
      }
      const user = await client.core.json<{ username: string; email?: string }>({
        path: ["auth", "user"],
      });
      const stored = ctx.stored;
      const provider = source === "sso" && stored?.sso
        ? { id: stored.sso.provider.id, name: stored.sso.provider.name }
        : null;
      const expiresAt = source === "token" ? null : stored?.expires_at ?? null;
      ctx.out.result({
        url: client.url,
        url_source: globals.urlSource,
        username: user.username,
        email: user.email ?? null,
        auth: source === "sso" ? "sso" : "token",
        auth_source: source,
        provider,
        expires_at: expiresAt,
      }, () => {
        const expiry = source === "sso"
          ? expiresAt
            ? `session until ${expiresAt}, then renewed through the provider`
            : "renewed through the provider when it expires"
          : expiresAt
          ? expiresAt
          : "unknown (the server tells only at login)";
        const rows: [string, string][] = [
          ["server", `${client.url} (${URL_SOURCES[globals.urlSource]})`],
          ["user", user.email ? `${user.username} <${user.email}>` : user.username],
          ["login", AUTH_DESCRIPTIONS[source]],
        ];
        if (provider) rows.push(["provider", `${provider.name} (${provider.id})`]);
        rows.push(["expires", expiry]);
        for (const [label, value] of rows) ctx.out.line(`${label.padEnd(9)}${value}`);
      });
    });
}
