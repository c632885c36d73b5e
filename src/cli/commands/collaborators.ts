/**
 * Collaborator commands: `collaborators-get`, `collaborators-add`,
 * `collaborators-patch`, `collaborators-remove`.
 *
 * @module
 */

import { Argument, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { type Collaborator, ProjectCollaboratorRole, QfcRequestException } from "../../../mod.ts";
import type { CliContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { ExitCode } from "../exit_codes.ts";
import { projectArgument, projectClient } from "../project_ref.ts";

const ROLES = Object.values(ProjectCollaboratorRole);

const COLUMNS = [
  { header: "COLLABORATOR", value: (c: Collaborator) => c.collaborator },
  { header: "ROLE", value: (c: Collaborator) => c.role },
];

function roleArgument() {
  return new Argument("<role>", "Role: admin, manager, editor, reporter or reader.").choices(
    ROLES,
  );
}

/**
 * Adds the collaborator commands.
 *
 * @example
 * ```ts ignore
 * registerCollaboratorCommands(program, ctx);
 * ```
 */
export function registerCollaboratorCommands(program: CommandUnknownOpts, ctx: CliContext): void {
  program.command("collaborators-get")
    .description("List a project's collaborators and their roles.")
    .addArgument(projectArgument())
    .action(async (ref) => {
      const { client, projectId } = await projectClient(ctx, ref);
      const collaborators = await client.getProjectCollaborators(projectId);
      ctx.out.result(collaborators, () => {
        if (collaborators.length === 0) ctx.out.line(`No collaborators in project "${ref.text}".`);
        else ctx.out.table(collaborators, COLUMNS);
      });
    });

  program.command("collaborators-add")
    .description("Add a user or team as a collaborator of a project, with a role.")
    .addArgument(projectArgument())
    .argument("<username>", "Username (or @organization/team).")
    .addArgument(roleArgument())
    .action(async (ref, username, role) => {
      const { client, projectId } = await projectClient(ctx, ref);
      const added = await client.addProjectCollaborator(projectId, username, role).catch(
        async (error) => {
          if (!(error instanceof QfcRequestException)) throw error;
          if (error.code === "api_error") {
            // The server says only "API Error" for a name it does not know.
            throw new CliError(
              `No user or team "${username}" to add to project "${ref.text}"; ` +
                'teams are written "@organization/team"',
              ExitCode.REJECTED,
              { cause: error },
            );
          }
          if (error.code !== "validation_error") throw error;
          // The server says only "Validation error"; name the likeliest cause when it is so.
          const existing = (await client.getProjectCollaborators(projectId).catch(() => []))
            .find((c) => c.collaborator.toLowerCase() === username.toLowerCase());
          if (!existing) throw error;
          throw new CliError(
            `"${username}" is already a collaborator of project "${ref.text}" with role "${existing.role}"`,
            ExitCode.REJECTED,
            { hint: `Change the role with "qfieldcloud-cli collaborators-patch"`, cause: error },
          );
        },
      );
      ctx.out.result(added, () => {
        ctx.out.line(
          `Collaborator "${username}" added to project "${ref.text}" with role "${added.role}".`,
        );
      });
    });

  program.command("collaborators-patch")
    .description("Change a collaborator's role.")
    .addArgument(projectArgument())
    .argument("<username>", "Username (or @organization/team).")
    .addArgument(roleArgument())
    .action(async (ref, username, role) => {
      const { client, projectId } = await projectClient(ctx, ref);
      const changed = await client.patchProjectCollaborators(projectId, username, role);
      ctx.out.result(changed, () => {
        ctx.out.line(
          `Collaborator "${username}" of project "${ref.text}" now has role "${changed.role}".`,
        );
      });
    });

  program.command("collaborators-remove")
    .description("Remove a collaborator from a project.")
    .addArgument(projectArgument())
    .argument("<username>", "Username (or @organization/team).")
    .action(async (ref, username) => {
      const { client, projectId } = await projectClient(ctx, ref);
      await client.removeProjectCollaborator(projectId, username);
      ctx.out.result({ removed: true, project_id: projectId, collaborator: username }, () => {
        ctx.out.line(`Collaborator "${username}" removed from project "${ref.text}".`);
      });
    });
}
