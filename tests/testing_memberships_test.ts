// The membership rules of the test server's state: who may join or
// collaborate, and what leaving an organization or deleting a team takes along
// (opengisch/QFieldCloud docker-app/qfieldcloud/core/models.py).
import { expect } from "expect";
import { ServerState } from "../testing/server_state.ts";

function acme() {
  const state = new ServerState();
  const alice = state.addUser({ username: "alice", password: "a" });
  const bob = state.addUser({ username: "bob", password: "b" });
  const org = state.addOrganization("acme", alice);
  const team = state.addTeam(org, "field");
  const project = state.addProject({ name: "survey", owner: org });
  return { state, alice, bob, org, team, project };
}

Deno.test("memberships change only through the state's rules", async (t) => {
  await t.step("joining and collaborating follow the server's checks", () => {
    const { state, alice, bob, org, team, project } = acme();
    expect(state.mayJoinOrganization(org, alice)).toBe(false); // the owner
    expect(state.mayCollaborate(project, bob)).toBe(false); // not a member yet
    expect(state.mayCollaborate(project, team)).toBe(true);
    state.addOrganizationMember(org, bob, "member");
    expect(state.mayJoinOrganization(org, bob)).toBe(false);
    expect(() => state.addOrganizationMember(org, bob, "admin")).toThrow(TypeError);
    expect(state.mayCollaborate(project, bob)).toBe(true);
    state.addCollaborator(project, bob, "editor", alice);
    expect(() => state.addCollaborator(project, bob, "reader")).toThrow(TypeError);
    expect(state.collaboratorsOf(project).map((c) => [c.collaborator.username, c.role]))
      .toEqual([["bob", "editor"]]);
  });

  await t.step("leaving an organization ends its collaborations and team memberships", () => {
    const { state, bob, org, team, project } = acme();
    const own = state.addProject({ name: "own", owner: bob });
    const membership = state.addOrganizationMember(org, bob, "member");
    state.addTeamMember(team, bob);
    state.addCollaborator(project, bob, "editor");
    const elsewhere = state.addUser({ username: "carol", password: "c" });
    state.addCollaborator(own, elsewhere, "reader");
    state.removeOrganizationMember(membership);
    expect(state.membersOf(org)).toEqual([]);
    expect(state.teamMembersOf(team)).toEqual([]);
    expect(state.collaboratorsOf(project)).toEqual([]);
    expect(state.collaboratorsOf(own).length).toBe(1);
  });

  await t.step("deleting a team removes the account, its members and its collaborations", () => {
    const { state, bob, org, team, project } = acme();
    state.addOrganizationMember(org, bob, "member");
    const entry = state.addTeamMember(team, bob);
    expect(() => state.addTeamMember(team, bob)).toThrow(TypeError);
    state.addCollaborator(project, team, "reader");
    state.removeTeamMember(entry);
    expect(state.teamMembersOf(team)).toEqual([]);
    state.addTeamMember(team, bob);
    state.deleteTeam(team);
    expect(state.findTeam(org, "field")).toBeUndefined();
    expect(state.teamMembers).toEqual([]);
    expect(state.collaborators).toEqual([]);
    expect(() => state.deleteTeam(bob)).toThrow(TypeError);
  });
});
