/**
 * Team commands: `teams-list`, `teams-create`, `teams-get`, `teams-patch`,
 * `teams-delete`, `team-members-list`, `team-members-add`,
 * `team-members-remove`.
 *
 * @module
 */

import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import type { Team } from "../../../mod.ts";
import type { CliContext } from "../context.ts";
import { CliUsageError } from "../errors.ts";

const COLUMNS = [
  { header: "TEAM", value: (t: Team) => t.team },
  { header: "MEMBERS", value: (t: Team) => (t.members ?? []).join(", ") },
];

/**
 * Adds the team commands.
 *
 * @example
 * ```ts ignore
 * registerTeamCommands(program, ctx);
 * ```
 */
export function registerTeamCommands(program: CommandUnknownOpts, ctx: CliContext): void {
  program.command("teams-list")
    .description("List an organization's teams.")
    .argument("<organization>", "Organization name.")
    .action(async (organization) => {
      const teams = await (await ctx.client()).getOrganizationTeams(organization);
      ctx.out.result(teams, () => {
        if (teams.length === 0) ctx.out.line(`No teams in organization "${organization}".`);
        else ctx.out.table(teams, COLUMNS);
      });
    });

  program.command("teams-create")
    .description("Create a team in an organization.")
    .argument("<organization>", "Organization name.")
    .argument("<team_name>", "Team name.")
    .action(async (organization, teamName) => {
      const team = await (await ctx.client()).createOrganizationTeam(organization, teamName);
      ctx.out.result(team, () => {
        ctx.out.line(`Team "${team.team}" created in organization "${team.organization}".`);
      });
    });

  program.command("teams-get")
    .description("Show a team and its members.")
    .argument("<organization>", "Organization name.")
    .argument("<team_name>", "Team name.")
    .action(async (organization, teamName) => {
      const team = await (await ctx.client()).getOrganizationTeam(organization, teamName);
      ctx.out.result(team, () => ctx.out.table([team], COLUMNS));
    });

  program.command("teams-patch")
    .description("Rename a team.")
    .argument("<organization>", "Organization name.")
    .argument("<team_name>", "Current team name.")
    .option("--name <new_team_name>", "New team name (required).")
    .action(async (organization, teamName, options) => {
      if (!options.name) throw new CliUsageError("Missing the new team name: pass --name NEW_NAME");
      const team = await (await ctx.client()).patchOrganizationTeam(
        organization,
        teamName,
        options.name,
      );
      ctx.out.result(team, () => {
        ctx.out.line(`Team "${teamName}" renamed to "${team.team}" in "${team.organization}".`);
      });
    });

  program.command("teams-delete")
    .description("Delete a team.")
    .argument("<organization>", "Organization name.")
    .argument("<team_name>", "Team name.")
    .action(async (organization, teamName) => {
      await (await ctx.client()).deleteOrganizationTeam(organization, teamName);
      ctx.out.result({ deleted: true, organization, team: teamName }, () => {
        ctx.out.line(`Team "${teamName}" deleted from organization "${organization}".`);
      });
    });

  program.command("team-members-list")
    .description("List the members of a team.")
    .argument("<organization>", "Organization name.")
    .argument("<team_name>", "Team name.")
    .action(async (organization, teamName) => {
      const members = await (await ctx.client()).getOrganizationTeamMembers(
        organization,
        teamName,
      );
      ctx.out.result(members, () => {
        if (members.length === 0) ctx.out.line(`No members in team "${teamName}".`);
        else ctx.out.table(members, [{ header: "MEMBER", value: (m) => m.member }]);
      });
    });

  program.command("team-members-add")
    .description("Add a member of the organization to a team.")
    .argument("<organization>", "Organization name.")
    .argument("<team_name>", "Team name.")
    .argument("<member_username>", "Username or email.")
    .action(async (organization, teamName, member) => {
      const added = await (await ctx.client()).addOrganizationTeamMember(
        organization,
        teamName,
        member,
      );
      ctx.out.result(added, () => {
        ctx.out.line(`Member "${added.member}" added to team "${teamName}" in "${organization}".`);
      });
    });

  program.command("team-members-remove")
    .description("Remove a member from a team.")
    .argument("<organization>", "Organization name.")
    .argument("<team_name>", "Team name.")
    .argument("<member_username>", "Username.")
    .action(async (organization, teamName, member) => {
      await (await ctx.client()).removeOrganizationTeamMember(organization, teamName, member);
      ctx.out.result({ removed: true, organization, team: teamName, member }, () => {
        ctx.out.line(`Member "${member}" removed from team "${teamName}" in "${organization}".`);
      });
    });
}
