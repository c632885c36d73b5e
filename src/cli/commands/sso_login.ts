/**
 * `login --sso`: a single sign-on through the server's identity provider, as
 * QFieldSync and QField do it. The browser shows the provider's sign-in page;
 * the provider sends the browser back to a loopback address where this command
 * listens, or (for a browser on another machine, such as over SSH) the user
 * pastes that address on stdin; the first to arrive wins. The session is saved
 * in the credentials file and renewed silently by later commands.
 *
 * @module
 */

import {
  completeSsoAuthorization,
  isOAuth2Provider,
  listAuthProviders,
  type OAuth2Provider,
  QfcSsoException,
  type SsoAuthorization,
  startSsoAuthorization,
} from "../../../mod.ts";
import type { CliContext } from "../context.ts";
import { CliError, CliUsageError } from "../errors.ts";
import { ExitCode } from "../exit_codes.ts";
import type { CliIo } from "../io.ts";
import type { Output } from "../output.ts";
import { askLine } from "../prompt.ts";
import { openBrowser } from "../browser.ts";
import { type CaughtRedirect, listenForRedirect, type LoopbackListener } from "../loopback.ts";

/** How long `login --sso` waits for the sign-in. */
export const SSO_WAIT_MS = 5 * 60_000;

/** Options of {@linkcode ssoLogin}. */
export interface SsoLoginOptions {
  /** The provider id, when the server has several. */
  provider?: string;
  /** Open the system browser. */
  browser: boolean;
}

function describeProviders(providers: readonly OAuth2Provider[]): string {
  return providers.map((p) => `"${p.id}" (${p.name})`).join(", ");
}

async function chooseProvider(
  ctx: CliContext,
  providers: OAuth2Provider[],
  wanted: string | undefined,
  url: string,
): Promise<OAuth2Provider> {
  if (providers.length === 0) {
    throw new CliError(
      `The server at "${url}" offers no single sign-on: log in with a username and password`,
      ExitCode.AUTH,
    );
  }
  if (wanted !== undefined) {
    const provider = providers.find((p) => p.id === wanted);
    if (!provider) {
      throw new CliUsageError(
        `Unknown provider "${wanted}": the server offers ${describeProviders(providers)}`,
      );
    }
    return provider;
  }
  if (providers.length === 1) return providers[0];
  if (!ctx.io.stdinIsTerminal) {
    throw new CliUsageError(
      `The server offers several single sign-on providers; choose one with --provider: ${
        describeProviders(providers)
      }`,
    );
  }
  providers.forEach((p, i) => ctx.io.stderr.write(`  ${i + 1}. ${p.name} (${p.id})\n`));
  while (true) {
    const answer = await askLine(ctx.io, `Sign in with [1-${providers.length}]: `);
    if (answer === null) throw new CliUsageError("No provider chosen");
    const chosen = providers[Number(answer.trim()) - 1] ??
      providers.find((p) => p.id === answer.trim());
    if (chosen) return chosen;
  }
}

/**
 * Reads pasted redirect URLs from stdin until one belongs to this sign-in; never
 * resolves when stdin ends first (the loopback may still win).
 */
async function pastedRedirect(io: CliIo, out: Output, state: string): Promise<CaughtRedirect> {
  while (true) {
    const line = await io.readLine();
    if (line === null) return await new Promise<never>(() => {});
    const text = line.trim();
    if (text === "") continue;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      out.warn("That is not a URL: paste the whole address the browser was sent to");
      continue;
    }
    if (!url.searchParams.has("code") && !url.searchParams.has("error")) {
      out.warn(
        "That URL carries no sign-in result (no code): paste the address the browser ended on",
      );
      continue;
    }
    if (url.searchParams.get("state") !== state) {
      out.warn("That URL belongs to another sign-in (its state differs): paste the latest one");
      continue;
    }
    return { url: text, answer: () => {} };
  }
}

/**
 * Waits for the first of: the loopback redirect, a pasted URL, the timeout, Ctrl-C.
 *
 * @example
 * ```ts ignore
 * const caught = await waitForRedirect(ctx.io, ctx.out, listener, authorization.state, SSO_WAIT_MS);
 * ```
 */
export async function waitForRedirect(
  io: CliIo,
  out: Output,
  listener: LoopbackListener | undefined,
  state: string,
  timeoutMs: number,
): Promise<CaughtRedirect> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const waits: Promise<CaughtRedirect>[] = [pastedRedirect(io, out, state)];
  if (listener) waits.push(listener.redirect);
  waits.push(
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const minutes = Math.round(timeoutMs / 60_000);
        reject(
          new CliError(
            `No sign-in arrived within ${
              minutes >= 1 ? `${minutes} minute${minutes === 1 ? "" : "s"}` : `${timeoutMs} ms`
            }: run "qfieldcloud-cli login --sso" again`,
            ExitCode.TIMEOUT,
          ),
        );
      }, timeoutMs);
      const signal = io.signal;
      if (signal) {
        onAbort = () => reject(new DOMException("Interrupted", "AbortError"));
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      }
    }),
  );
  try {
    return await Promise.race(waits);
  } finally {
    clearTimeout(timer);
    if (onAbort) io.signal?.removeEventListener("abort", onAbort);
  }
}

function printInstructions(
  ctx: CliContext,
  authorization: SsoAuthorization,
  opened: boolean,
  listening: boolean,
): void {
  const name = authorization.provider.name;
  // The URL goes straight to stderr: it must show even when notices are silenced.
  ctx.io.stderr.write(
    (opened
      ? `Opening the sign-in page of ${name} in your browser. If it does not open, visit:\n`
      : `To sign in with ${name}, open this URL in a browser:\n`) +
      `  ${authorization.url}\n`,
  );
  ctx.out.notice(
    `Waiting up to ${SSO_WAIT_MS / 60_000} minutes. ` +
      (listening
        ? "Browser on another machine (over SSH)? Sign in there, then paste here the address it ends on"
        : "Once signed in, paste here the address the browser ends on") +
      ` (it starts with ${authorization.redirectUri}).`,
  );
}

/**
 * Runs `login --sso`.
 *
 * @example
 * ```ts ignore
 * await ssoLogin(ctx, { provider: undefined, browser: true });
 * ```
 */
export async function ssoLogin(ctx: CliContext, options: SsoLoginOptions): Promise<void> {
  const client = await ctx.client({ auth: false });
  const providers = (await listAuthProviders(client)).filter(isOAuth2Provider);
  const provider = await chooseProvider(ctx, providers, options.provider, client.url);
  const authorization = await startSsoAuthorization(provider);
  ctx.out.addSecret(authorization.codeVerifier);
  let listener: LoopbackListener | undefined;
  try {
    listener = await listenForRedirect(
      provider.redirect_host,
      provider.redirect_port,
      provider.redirect_url,
      authorization.state,
    );
  } catch (error) {
    ctx.out.warn(
      `Cannot listen on ${authorization.redirectUri} (${
        error instanceof Deno.errors.AddrInUse
          ? `another program, QGIS perhaps, holds port ${provider.redirect_port}`
          : (error as Error).message
      }): the browser's redirect will not arrive by itself; paste here the address it ends on`,
    );
  }
  for (const { address, error } of listener?.unbound ?? []) {
    ctx.out.warn(
      `Cannot listen on ${address} (${
        error instanceof Deno.errors.AddrInUse
          ? `another program, QGIS perhaps, holds port ${provider.redirect_port} there`
          : error.message
      }): if the browser's page does not come back, paste here the address it ends on`,
    );
  }
  try {
    const opened = options.browser && openBrowser(authorization.url, ctx.io.os, ctx.io.env);
    printInstructions(ctx, authorization, opened, listener !== undefined);
    const caught = await waitForRedirect(
      ctx.io,
      ctx.out,
      listener,
      authorization.state,
      SSO_WAIT_MS,
    );
    let login;
    try {
      login = await completeSsoAuthorization(client, authorization, caught.url);
    } catch (error) {
      caught.answer({ ok: false, message: "Return to the terminal to see why." });
      if (error instanceof QfcSsoException) {
        throw new CliError(error.message, ExitCode.AUTH, { cause: error });
      }
      throw error;
    }
    caught.answer({ ok: true, message: "You can close this tab and return to the terminal." });
    const session = login.session;
    ctx.addSessionSecrets(session);
    await ctx.credentials.save({
      url: client.url,
      sso: session,
      username: session.username,
      expires_at: session.expiresAt ?? null,
    });
    ctx.out.result({
      username: login.user.username,
      email: login.user.email ?? null,
      url: client.url,
      provider: { id: provider.id, name: provider.name },
      expires_at: session.expiresAt ?? null,
      saved_to: ctx.credentials.path,
    }, () => {
      ctx.out.notice(
        `Welcome to QFieldCloud, ${login.user.username} (signed in through ${provider.name}).`,
      );
      ctx.out.notice(
        `The session is saved in ${ctx.credentials.path}; later commands use it and renew it ` +
          `through ${provider.name} when it expires.`,
      );
    });
  } finally {
    await listener?.close();
  }
}
