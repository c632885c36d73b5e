/**
 * Reads an environment variable where the runtime exposes them (Deno with
 * `--allow-env`, Node, Bun), and gives `undefined` anywhere else: in a browser,
 * or in Deno without the permission (never prompting for it).
 */
export function readEnv(name: string): string | undefined {
  const global = globalThis as {
    Deno?: {
      env?: { get(name: string): string | undefined };
      permissions?: { querySync?(d: { name: "env"; variable: string }): { state: string } };
    };
    process?: { env?: Record<string, string | undefined> };
  };
  const deno = global.Deno;
  if (deno?.env) {
    try {
      const state = deno.permissions?.querySync?.({ name: "env", variable: name }).state;
      if (state !== undefined && state !== "granted") return undefined;
      return deno.env.get(name) || undefined;
    } catch {
      return undefined;
    }
  }
  return global.process?.env?.[name] || undefined;
}
