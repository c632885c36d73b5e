/**
 * The one place where a command's `PROJECT_ID` argument is read: a project id
 * (a UUID) or `OWNER/NAME`, as `gh` takes `OWNER/REPO`. Anything else is
 * refused while the arguments are parsed, before any request; `OWNER/NAME`
 * becomes an id with one request. Job ids are checked the same way.
 *
 * @module
 */

import { Argument, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { type Client, Pagination } from "../../mod.ts";
import type { CliContext } from "./context.ts";
import { CliError } from "./errors.ts";
import { ExitCode } from "./exit_codes.ts";

/** A project as the user named it. */
export interface ProjectRef {
  /** The argument as given, for messages. */
  readonly text: string;
  /** The project's id, when given as one. */
  readonly id?: string;
  /** The owner (user or organization), when given as `OWNER/NAME`. */
  readonly owner?: string;
  /** The project's name, when given as `OWNER/NAME`. */
  readonly name?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OWNER_NAME = /^([^/\s]+)\/([^/]+)$/;

/**
 * Reads a job id: a UUID, or an `InvalidArgumentError` (a usage error) with a hint, so that
 * a mistyped id is refused before any request.
 *
 * @example
 * ```ts
 * import { parseJobId } from "./project_ref.ts";
 * console.log(parseJobId("3F2504E0-4F89-11D3-9A0C-0305E82C3301")); // lower case
 * ```
 */
export function parseJobId(text: string): string {
  const value = text.trim();
  if (UUID.test(value)) return value.toLowerCase();
  throw new InvalidArgumentError(
    'Expected a job id (a UUID); see a project\'s jobs with "qfieldcloud-cli list-jobs P".',
  );
}

/** What the help of a project argument says. */
export const PROJECT_REF_HELP = "Project id, or OWNER/NAME.";

/**
 * Reads a project argument: a UUID, or `OWNER/NAME` with exactly one `/`.
 * Anything else is an `InvalidArgumentError` (a usage error) with a hint.
 *
 * @example
 * ```ts
 * import { parseProjectRef } from "./project_ref.ts";
 * console.log(parseProjectRef("my-org/survey-2026").owner); // "my-org"
 * ```
 */
export function parseProjectRef(text: string): ProjectRef {
  const value = text.trim();
  if (UUID.test(value)) return { text, id: value.toLowerCase() };
  const match = OWNER_NAME.exec(value);
  if (match) return { text, owner: match[1], name: match[2] };
  throw new InvalidArgumentError(
    "Expected a project id (a UUID) or OWNER/NAME, e.g. my-org/survey-2026; " +
      'find both with "qfieldcloud-cli list-projects".',
  );
}

/**
 * The `<project_id>` argument of a command, parsed by {@linkcode parseProjectRef}.
 *
 * @example
 * ```ts ignore
 * program.command("get-project").addArgument(projectArgument())
 *   .action(async (ref) => console.log(await resolveProjectId(await ctx.client(), ref)));
 * ```
 */
export function projectArgument(
  description: string = PROJECT_REF_HELP,
): Argument<"<project_id>", undefined, ProjectRef, undefined, undefined> {
  return new Argument("<project_id>", description).argParser(parseProjectRef) as Argument<
    "<project_id>",
    undefined,
    ProjectRef,
    undefined,
    undefined
  >;
}

/**
 * An option whose value names a project (`--clone-from`), parsed by {@linkcode parseProjectRef}.
 *
 * @example
 * ```ts ignore
 * command.addOption(projectOption("--clone-from <project_id>", "Copy this project's files."));
 * ```
 */
export function projectOption<Flags extends string>(
  flags: Flags,
  description: string,
): Option<Flags, undefined, undefined, ProjectRef> {
  return new Option(flags, description).argParser(parseProjectRef) as unknown as Option<
    Flags,
    undefined,
    undefined,
    ProjectRef
  >;
}

/**
 * The id of the project: the id itself, or the project listed under `OWNER/NAME`
 * (one request: the listing filtered by owner and name, public projects included).
 * A project that cannot be found ends the command with exit code 5.
 *
 * @example
 * ```ts ignore
 * const id = await resolveProjectId(client, parseProjectRef("alice/survey"));
 * ```
 */
export async function resolveProjectId(client: Client, ref: ProjectRef): Promise<string> {
  if (ref.id !== undefined) return ref.id;
  const owner = ref.owner ?? "";
  const name = ref.name ?? "";
  const listed = await client.listProjects({
    owner,
    name,
    includePublic: true,
    pagination: new Pagination({ limit: 10 }),
  });
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const project = listed.find((p) => p.owner === owner && p.name === name) ??
    listed.find((p) => same(p.owner, owner) && same(p.name, name));
  if (!project) {
    throw new CliError(`No project "${owner}/${name}" that you can see`, ExitCode.NOT_FOUND, {
      hint:
        `Check the spelling, or list the projects with "qfieldcloud-cli list-projects --owner ${owner}"`,
    });
  }
  return project.id;
}

/**
 * The run's client and the id of the project the argument names: what most project commands
 * start with.
 *
 * @example
 * ```ts ignore
 * const { client, projectId } = await projectClient(ctx, ref);
 * await client.deleteProject(projectId);
 * ```
 */
export async function projectClient(
  ctx: CliContext,
  ref: ProjectRef,
): Promise<{ client: Client; projectId: string }> {
  const client = await ctx.client();
  return { client, projectId: await resolveProjectId(client, ref) };
}
