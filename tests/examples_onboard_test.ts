import { expect } from "expect";
import { Client } from "../mod.ts";
import { startTestServer } from "../testing/mod.ts";
import {
  formatSummary,
  onboardFromCsv,
  parseCsv,
  readOnboardingCsv,
} from "../examples/onboard_from_csv.ts";

const EXAMPLE = new URL("../examples/onboard_from_csv.ts", import.meta.url).pathname;
const SAMPLE = new URL("../examples/fixtures/people.csv", import.meta.url).pathname;

type Server = Awaited<ReturnType<typeof startTestServer>>;

function writes(server: Server) {
  return server.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD");
}

async function setup() {
  const server = await startTestServer({
    users: [
      { username: "boss", password: "boss-pass" },
      { username: "alice", password: "a" },
      { username: "bob", password: "b" },
      { username: "carol", password: "c" },
      { username: "dave", password: "d" },
    ],
    organizations: [{ name: "survey-org", owner: "boss" }],
    jobSeconds: 0.1,
  });
  const project = server.addProject({ name: "trees", owner: "survey-org" });
  const token = await server.createToken("boss");
  const client = new Client({ url: server.url, token, retry: { attempts: 1 } });
  return { server, project, token, client };
}

Deno.test("parseCsv() reads RFC 4180 records", async (t) => {
  await t.step("quoted separators, escaped quotes and CRLF", () => {
    expect(parseCsv('a,"b,c"\r\n"say ""hi""",d\r\n')).toEqual([
      { line: 1, fields: ["a", "b,c"] },
      { line: 2, fields: ['say "hi"', "d"] },
    ]);
  });
  await t.step("line breaks inside quotes keep the record's first line", () => {
    expect(parseCsv('x,"two\nlines"\ny,z')).toEqual([
      { line: 1, fields: ["x", "two\nlines"] },
      { line: 3, fields: ["y", "z"] },
    ]);
  });
  await t.step("empty fields and a missing final newline", () => {
    expect(parseCsv("a,,\nb,c,")).toEqual([
      { line: 1, fields: ["a", "", ""] },
      { line: 2, fields: ["b", "c", ""] },
    ]);
  });
  await t.step("an unterminated quote names its line", () => {
    expect(() => parseCsv('a,b\nc,"d\n')).toThrow("Line 2: a quoted field is never closed");
  });
});

Deno.test("readOnboardingCsv() reports every bad row at once", async (t) => {
  await t.step("unknown roles, empty names, duplicates and short rows, each by line", () => {
    const { rows, errors } = readOnboardingCsv(
      [
        "username,org_role,proj_role",
        "alice,admin,manager",
        "bob,owner,editor",
        ",member,reader",
        "carol,member,boss",
        "Alice,member,",
        "dave,member",
        "erin,,reader",
      ].join("\n"),
    );
    expect(rows).toEqual([]);
    expect(errors).toEqual([
      'Line 3: unknown org_role "owner" (use admin or member)',
      "Line 4: empty username",
      'Line 5: unknown proj_role "boss" (use admin, manager, editor, reporter, reader, or leave ' +
      "it empty)",
      'Line 6: "Alice" is already listed on line 2',
      'Line 7: expected 3 fields, found 2 ("dave,member")',
      "Line 8: empty org_role (use admin or member)",
    ]);
  });
  await t.step("a missing column is named", () => {
    const { errors } = readOnboardingCsv("username,org_role\nalice,admin\n");
    expect(errors).toEqual([
      'Line 1: missing column "proj_role" (the header is "username,org_role"; expected ' +
      "username,org_role,proj_role)",
    ]);
  });
  await t.step("a spreadsheet's BOM, semicolons, capitals and column order are accepted", () => {
    const { rows, errors } = readOnboardingCsv(
      "\uFEFFproj_role;Username;ORG_ROLE;note\r\nEditor;bob;Member;new hire\r\n;carol;admin;\r\n",
    );
    expect(errors).toEqual([]);
    expect(rows).toEqual([
      { line: 2, username: "bob", orgRole: "member", projRole: "editor" },
      { line: 3, username: "carol", orgRole: "admin", projRole: null },
    ]);
  });
  await t.step("the bundled sample file is valid", async () => {
    const { rows, errors } = readOnboardingCsv(await Deno.readTextFile(SAMPLE));
    expect(errors).toEqual([]);
    expect(rows.length).toBeGreaterThan(0);
  });
});

Deno.test("onboardFromCsv() against the test server", async (t) => {
  const { server, project, token, client } = await setup();
  try {
    const csv =
      "username,org_role,proj_role\nalice,admin,manager\nbob,member,editor\ncarol,member,\n";

    await t.step("a bad file changes nothing", async () => {
      server.clearRequests();
      const report = await onboardFromCsv(client, "username,org_role,proj_role\nbob,owner,\n", {
        organization: "survey-org",
        projectId: project.id,
      });
      expect(report.errors).toEqual(['Line 2: unknown org_role "owner" (use admin or member)']);
      expect(server.requests.length).toBe(0);
    });

    await t.step("--dry-run plans every step and writes nothing", async () => {
      server.clearRequests();
      const report = await onboardFromCsv(client, csv, {
        organization: "survey-org",
        projectId: project.id,
        dryRun: true,
      });
      expect(report.steps.map((s) => `${s.action} ${s.target} ${s.username} ${s.outcome}`))
        .toEqual([
          "add organization alice planned",
          "add project alice planned",
          "add organization bob planned",
          "add project bob planned",
          "add organization carol planned",
        ]);
      expect(writes(server)).toEqual([]);
      expect(await client.getOrganizationMembers("survey-org")).toEqual([]);
    });

    await t.step("adds members and collaborators with their roles", async () => {
      server.clearRequests();
      const report = await onboardFromCsv(client, csv, {
        organization: "survey-org",
        projectId: project.id,
      });
      expect(report.counts).toEqual({ planned: 0, done: 5, unchanged: 0, failed: 0, skipped: 0 });
      expect(writes(server).length).toBe(5);
      const members = await client.getOrganizationMembers("survey-org");
      expect(members.map((m) => [m.member, m.role]).sort()).toEqual([
        ["alice", "admin"],
        ["bob", "member"],
        ["carol", "member"],
      ]);
      const collaborators = await client.getProjectCollaborators(project.id);
      expect(collaborators.map((c) => [c.collaborator, c.role]).sort()).toEqual([
        ["alice", "manager"],
        ["bob", "editor"],
      ]);
    });

    await t.step("a re-run sends no write request", async () => {
      server.clearRequests();
      const report = await onboardFromCsv(client, csv, {
        organization: "survey-org",
        projectId: project.id,
      });
      expect(report.counts.unchanged).toBe(5);
      expect(report.counts.done).toBe(0);
      expect(writes(server)).toEqual([]);
    });

    await t.step("a changed role is patched, the rest left alone", async () => {
      server.clearRequests();
      const report = await onboardFromCsv(
        client,
        csv.replace("bob,member,editor", "bob,member,reader"),
        {
          organization: "survey-org",
          projectId: project.id,
        },
      );
      const changed = report.steps.filter((s) => s.action === "change");
      expect(changed.map((s) => [s.username, s.previousRole, s.role])).toEqual([
        ["bob", "editor", "reader"],
      ]);
      expect(writes(server).map((r) => r.method)).toEqual(["PATCH"]);
      const bob = (await client.getProjectCollaborators(project.id)).find((c) =>
        c.collaborator === "bob"
      );
      expect(bob?.role).toBe("reader");
    });

    await t.step("a failing row is reported and the next rows go on", async () => {
      const report = await onboardFromCsv(
        client,
        "username,org_role,proj_role\nghost,member,editor\ndave,member,reporter\n",
        { organization: "survey-org", projectId: project.id },
      );
      expect(report.failedRows).toEqual(["ghost"]);
      const ghost = report.steps.filter((s) => s.username === "ghost");
      expect(ghost.map((s) => s.outcome)).toEqual(["failed", "skipped"]);
      expect(ghost[0].reason).toContain("404");
      const dave = (await client.getProjectCollaborators(project.id)).find((c) =>
        c.collaborator === "dave"
      );
      expect(dave?.role).toBe("reporter");
      expect(formatSummary(report)).toBe(
        "2 done, 0 unchanged, 1 failed, 1 skipped; failed rows: ghost",
      );
    });

    await t.step("the script exits 1 with a summary, and never prints the token", async () => {
      const dir = await Deno.makeTempDir();
      try {
        const file = `${dir}/people.csv`;
        await Deno.writeTextFile(
          file,
          "username,org_role,proj_role\nghost2,member,\nalice,admin,\n",
        );
        const output = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", EXAMPLE, file, "--organization", "survey-org"],
          env: { QFIELDCLOUD_URL: server.url, QFIELDCLOUD_TOKEN: token },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stdout = new TextDecoder().decode(output.stdout);
        const stderr = new TextDecoder().decode(output.stderr);
        expect(output.code).toBe(1);
        expect(stdout).toContain("0 done, 1 unchanged, 1 failed, 0 skipped; failed rows: ghost2");
        expect(stdout + stderr).not.toContain(token);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    await t.step("the script exits 2 and lists every problem of a bad file", async () => {
      const dir = await Deno.makeTempDir();
      try {
        const file = `${dir}/bad.csv`;
        await Deno.writeTextFile(file, "username,org_role,proj_role\n,member,\nzed,chief,\n");
        const output = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", EXAMPLE, file, "--organization", "survey-org", "--dry-run"],
          env: { QFIELDCLOUD_URL: server.url, QFIELDCLOUD_TOKEN: token },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(output.stderr);
        expect(output.code).toBe(2);
        expect(stderr).toContain("2 problem(s), nothing was changed");
        expect(stderr).toContain("Line 2: empty username");
        expect(stderr).toContain('Line 3: unknown org_role "chief"');
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    await t.step("the script exits 2 with one line for bad arguments", async () => {
      const run = async (...args: string[]) => {
        const output = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", EXAMPLE, ...args],
          env: { QFIELDCLOUD_URL: server.url, QFIELDCLOUD_TOKEN: token },
          stdout: "piped",
          stderr: "piped",
        }).output();
        return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
      };
      expect(await run("--organization=survey-org")).toEqual({
        code: 2,
        stderr: "onboard_from_csv: Usage: onboard_from_csv.ts <file.csv> --organization <org> " +
          "[--project <id>] [--dry-run]\n",
      });
      expect(await run("a.csv", "b.csv", "--organization", "survey-org")).toEqual({
        code: 2,
        stderr: 'onboard_from_csv: Unexpected argument "b.csv": give one CSV file\n',
      });
      const unknown = await run("a.csv", "--organisation", "survey-org");
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/^onboard_from_csv: Unknown option '--organisation'.*\n$/);
    });
  } finally {
    await server.close();
  }
});
