/**
 * Organization member commands: `members-get`, `members-add`,
 * `members-patch`, `members-remove`.
 *
 * @module
 */

import { Argument, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { type OrganizationMember, OrganizationMemberRole } from "../../../mod.ts";
import type { CliContext } from "../context.ts";

const ROLES = Object.values(OrganizationMemberRole);

const COLUMNS = [
  { header: "MEMBER", value: (m: OrganizationMember) => m.member },
  { header: "ROLE", value: (m: OrganizationMember) => m.role },
  { header: "PUBLIC", value: (m: OrganizationMember) => m.is_public ? "yes" : "no" },
];

function roleArgument() {
  return new Argument("<role>", "Role: admin or member.").choices(ROLES);
}

/**
 * Adds the organization member commands.
 *
 * @example
 * ```ts ignore
 * registerMemberCommands(program, ctx);
 * ```
 */
export function registerMemberCommands(program: CommandUnknownOpts, ctx: CliContext): void {
  program.command("members-get")
    .description("List an organization's members and their roles.")
    .argument("<organization>", "Organization name.")
    .action(async (organization) => {
      const members = await (await ctx.client()).getOrganizationMembers(organization);
      ctx.out.result(members, () => {
        if (members.length === 0) ctx.out.line(`No members in organization "${organization}".`);
        else ctx.out.table(members, COLUMNS);
      });
    });

  program.command("members-add")
    .description("Add a user to an organization, with a role.")
    .argument("<organization>", "Organization name.")
    .argument("<username>", "Username.")
    .addArgument(roleArgument())
    .option("--public", "Show the membership publicly.")
    .option("--no-public", "Keep the membership private. Default.")
    .action(async (organization, username, role, options) => {
      const added = await (await ctx.client()).addOrganizationMember(organization, username, {
        role,
        isPublic: options.public ?? false,
      });
      ctx.out.result(added, () => {
        ctx.out.line(
          `Member "${added.member}" added to organization "${added.organization}" with role "${added.role}".`,
        );
      });
    });

  program.command("members-patch")
    .description("Change a member's role in an organization.")
    .argument("<organization>", "Organization name.")
    .argument("<username>", "Username.")
    .addArgument(roleArgument())
    .option("--public", "Show the membership publicly.")
    .option("--no-public", "Keep the membership private.")
    .action(async (organization, username, role, options) => {
      const changed = await (await ctx.client()).patchOrganizationMembers(organization, username, {
        role,
        isPublic: options.public,
      });
      ctx.out.result(changed, () => {
        ctx.out.line(
          `Member "${changed.member}" of organization "${changed.organization}" now has role "${changed.role}".`,
        );
      });
    });

  program.command("members-remove")
    .description("Remove a member from an organization (and from its teams and projects).")
    .argument("<organization>", "Organization name.")
    .argument("<username>", "Username.")
    .action(async (organization, username) => {
      await (await ctx.client()).removeOrganizationMembers(organization, username);
      ctx.out.result({ removed: true, organization, member: username }, () => {
        ctx.out.line(`Member "${username}" removed from organization "${organization}".`);
      });
    });
}
