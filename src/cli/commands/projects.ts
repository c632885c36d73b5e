/**
 * Project commands: `list-projects`, `get-project`, `create-project`,
 * `patch-project`, `delete-project`, `upload-project-thumbnail`,
 * `get-project-seed`, `get-project-seed-xlsform`.
 *
 * @module
 */

import { Argument, type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import { Pagination, type PatchProjectOptions } from "../../../mod.ts";
import type { CliContext } from "../context.ts";
import { CliError, CliUsageError } from "../errors.ts";
import { ExitCode } from "../exit_codes.ts";
import { flagPair, integerParser } from "../options.ts";
import { askLine } from "../prompt.ts";
import { projectArgument, projectClient, projectOption, resolveProjectId } from "../project_ref.ts";
import { printRecord, PROJECT_COLUMNS, PROJECT_FIELDS } from "./common.ts";

const PROJECT_TYPES = ["regular", "template", "shared_datasets"] as const;

/** The server's rule for project names (`^[a-zA-Z0-9-_\.]+$`, opengisch/QFieldCloud#10). */
const PROJECT_NAME = /^[a-zA-Z0-9_.-]+$/;

/**
 * Refuses a project name the server would refuse with a bare `api_error`, before sending it,
 * and suggests a name that passes.
 */
function checkProjectName(name: string): string {
  if (PROJECT_NAME.test(name)) return name;
  const suggestion = name.normalize("NFKD").replace(/\p{M}/gu, "").replace(/ß/g, "ss")
    .replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^-+|-+$/g, "");
  throw new CliUsageError(
    `Invalid project name "${name}": names may hold only a-z, A-Z, 0-9, "-", "_" and "."`,
    { hint: suggestion ? `For example "${suggestion}"` : undefined },
  );
}

/**
 * Adds the project commands.
 *
 * @example
 * ```ts ignore
 * registerProjectCommands(program, ctx);
 * ```
 */
export function registerProjectCommands(program: CommandUnknownOpts, ctx: CliContext): void {
  const list = program.command("list-projects")
    .description("List the QFieldCloud projects you have a role on.")
    .addOption(
      new Option("-l, --limit <n>", "Return at most this many projects (one page).")
        .argParser(integerParser(1)),
    )
    .addOption(
      new Option("-o, --offset <n>", "Skip this many projects (one page).")
        .argParser(integerParser(0)),
    )
    .option("--owner <owner>", "Only projects of this user or organization.")
    .option("--name <name>", "Only the project of this name (case-insensitive).")
    .option("--search <text>", "Only projects matching this text.")
    .addOption(
      new Option("--ordering <field>", "Sort by this field; prefix - for descending.").choices(
        ["name", "-name", "owner", "-owner", "created_at", "-created_at"],
      ),
    );
  const includePublic = flagPair(
    list,
    "--include-public",
    "--no-public",
    "Include public projects. Default: no.",
    "Do not include public projects.",
  );
  list.action(async (options) => {
    const client = await ctx.client();
    const pagination = options.limit !== undefined || options.offset !== undefined
      ? new Pagination({ limit: options.limit, offset: options.offset })
      : undefined;
    const projects = await client.listProjects({
      includePublic: includePublic() ?? false,
      pagination,
      owner: options.owner,
      name: options.name,
      search: options.search,
      ordering: options.ordering,
    });
    ctx.out.result(projects, () => {
      if (projects.length === 0) ctx.out.line("No projects.");
      else ctx.out.table(projects, PROJECT_COLUMNS);
    });
  });

  program.command("get-project")
    .description("Show a project.")
    .addArgument(projectArgument())
    .action(async (ref) => {
      const { client, projectId } = await projectClient(ctx, ref);
      const project = await client.getProject(projectId);
      ctx.out.result(project, () => printRecord(ctx.out, project, PROJECT_FIELDS));
    });

  const create = program.command("create-project")
    .description("Create a new empty project.")
    .argument("<name>", "Project name: letters, digits, _, - and . only.")
    .option("--owner <owner>", "Owner (user or organization). Default: you.")
    .option("--description <text>", "Description of the project.")
    .addOption(
      new Option("--project-type <type>", "Type of the project. Default: regular.")
        .choices(PROJECT_TYPES),
    )
    .addOption(
      projectOption(
        "--clone-from <project_id>",
        "Copy the files of this project (id or OWNER/NAME) into the new one.",
      ),
    );
  const createPublic = flagPair(
    create,
    "--is-public",
    "--is-private",
    "Make the project public.",
    "Make the project private. Default.",
  );
  create.action(async (name, options) => {
    checkProjectName(name);
    const client = await ctx.client();
    const project = await client.createProject(name, {
      owner: options.owner,
      description: options.description,
      isPublic: createPublic() ?? false,
      projectType: options.projectType,
      cloneFromProject: options.cloneFrom && await resolveProjectId(client, options.cloneFrom),
    });
    ctx.out.result(project, () => {
      ctx.out.line(`Created project "${project.owner}/${project.name}" with id ${project.id}.`);
    });
  });

  const patch = program.command("patch-project")
    .description("Change a project: only the options given are sent.")
    .addArgument(projectArgument())
    .option("--name <name>", "New project name.")
    .option("--description <text>", 'New description ("" clears it).')
    .option("--owner <owner>", "Transfer the project to this user or organization.")
    .addOption(
      new Option("--project-type <type>", "New type of the project.").choices(PROJECT_TYPES),
    );
  const patchPublic = flagPair(
    patch,
    "--is-public",
    "--is-no-public",
    "Make the project public.",
    "Make the project private.",
  );
  patch.action(async (ref, options) => {
    const changes: PatchProjectOptions = {};
    if (options.name !== undefined) changes.name = checkProjectName(options.name);
    if (options.description !== undefined) changes.description = options.description;
    if (options.owner !== undefined) changes.owner = options.owner;
    if (options.projectType !== undefined) changes.projectType = options.projectType;
    const isPublic = patchPublic();
    if (isPublic !== undefined) changes.isPublic = isPublic;
    if (Object.keys(changes).length === 0) {
      throw new CliUsageError(
        "Nothing to change: pass --name, --description, --owner, --project-type, --is-public or --is-no-public",
      );
    }
    const { client, projectId } = await projectClient(ctx, ref);
    const project = await client.patchProject(projectId, changes);
    ctx.out.result(project, () => {
      ctx.out.line(`Patched project "${project.owner}/${project.name}" (${project.id}).`);
    });
  });

  program.command("delete-project")
    .description(
      "Delete a project with all its files, jobs and packages. On a terminal, asks you to type\n" +
        "OWNER/NAME first (--yes skips that); never asks when stdin is not a terminal.",
    )
    .addArgument(projectArgument())
    .option("-y, --yes", "Do not ask for confirmation.")
    .action(async (ref, options) => {
      const { client, projectId } = await projectClient(ctx, ref);
      if (!options.yes && ctx.io.stdinIsTerminal) {
        const project = await client.getProject(projectId);
        const fullName = `${project.owner}/${project.name}`;
        const answer = await askLine(
          ctx.io,
          `Delete project "${fullName}" (${projectId}) with all its files, jobs and packages?\n` +
            `Type ${fullName} to confirm: `,
        );
        if (answer?.trim() !== fullName) {
          throw new CliError(`Not deleted: the answer was not "${fullName}"`, ExitCode.FAILURE, {
            hint: "Pass --yes to delete without the question",
          });
        }
      }
      await client.deleteProject(projectId);
      ctx.out.result({ deleted: true, project_id: projectId }, () => {
        ctx.out.line(`Deleted project "${ref.text}".`);
      });
    });

  program.command("upload-project-thumbnail")
    .description("Upload a PNG or JPEG image (at most 5 MiB) as the project's thumbnail.")
    .addArgument(projectArgument())
    .addArgument(new Argument("<local_filename>", "The .png, .jpg or .jpeg file."))
    .action(async (ref, localFilename) => {
      const { client, projectId } = await projectClient(ctx, ref);
      await client.uploadProjectThumbnail(projectId, localFilename);
      ctx.out.result({ uploaded: true, project_id: projectId, filename: localFilename }, () => {
        ctx.out.line(`Uploaded "${localFilename}" as the thumbnail of project "${ref.text}".`);
      });
    });

  program.command("get-project-seed")
    .description("Show how a project was seeded (extent, basemaps, XLSForm).")
    .addArgument(projectArgument())
    .action(async (ref) => {
      const { client, projectId } = await projectClient(ctx, ref);
      const seed = await client.getProjectSeed(projectId);
      ctx.out.result(seed, () => printRecord(ctx.out, seed));
    });

  program.command("get-project-seed-xlsform")
    .description(
      "Download the XLSForm a project was seeded with into a directory. The file name comes\n" +
        "from the server (normally xlsform.xlsx); an existing file of that name is replaced.",
    )
    .addArgument(projectArgument())
    .argument("<local_dir>", "Directory to write to (created if missing).")
    .action(async (ref, localDir) => {
      const { client, projectId } = await projectClient(ctx, ref);
      const path = await client.getProjectSeedXlsform(projectId, localDir);
      ctx.out.result({ project_id: projectId, path }, () => {
        ctx.out.line(`Saved the XLSForm of project "${ref.text}" to ${path}.`);
      });
    });
}
