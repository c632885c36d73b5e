/**
 * Opens a URL in the system browser, as `gh auth login --web` does: `open` on
 * macOS, the URL handler on Windows, `xdg-open` elsewhere (only with a
 * graphical session, so that an SSH session does not start a text browser).
 *
 * @module
 */

/**
 * The command that opens a URL on this platform, or `undefined` when there is no
 * graphical session to open it in.
 *
 * @example
 * ```ts
 * import { browserCommand } from "./browser.ts";
 * console.log(browserCommand("darwin", () => undefined, "https://example.com/")?.[0]); // "open"
 * ```
 */
export function browserCommand(
  os: string,
  env: (name: string) => string | undefined,
  url: string,
): [string, string[]] | undefined {
  if (os === "darwin") return ["open", [url]];
  if (os === "windows") return ["rundll32", ["url.dll,FileProtocolHandler", url]];
  if (!env("DISPLAY") && !env("WAYLAND_DISPLAY")) return undefined;
  return ["xdg-open", [url]];
}

/**
 * Starts the browser on the URL without waiting for it; false when none could be started.
 *
 * @example
 * ```ts ignore
 * if (!openBrowser(url, Deno.build.os, (name) => Deno.env.get(name))) console.error(url);
 * ```
 */
export function openBrowser(
  url: string,
  os: string,
  env: (name: string) => string | undefined,
): boolean {
  const command = browserCommand(os, env, url);
  if (!command) return false;
  try {
    const child = new Deno.Command(command[0], {
      args: command[1],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.status.catch(() => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}
