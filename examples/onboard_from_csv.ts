/**
 * Onboards people from a CSV file: adds them to an organization and to one of its projects
 * with the roles the file gives, the job the official docs show one command at a time.
 *
 * The file has a header row and three columns, in any order (extra columns are ignored):
 *
 * ```csv
 * username,org_role,proj_role
 * alice,admin,manager
 * bob,member,editor
 * carol,member,
 * ```
 *
 * - `username`: an existing QFieldCloud user.
 * - `org_role`: `admin` or `member`.
 * - `proj_role`: `admin`, `manager`, `editor`, `reporter` or `reader`; empty for no project role.
 *
 * Roles are read case-insensitively. A header written by a spreadsheet with `;` separators
 * is recognized too, as is a UTF-8 byte-order mark.
 *
 * What it does, in order:
 * 1. Reads and checks **every** row before changing anything, and reports all bad rows at
 *    once (line number and value): a missing column, an empty username, an unknown role, a
 *    user listed twice, a row with the wrong number of fields. Nothing is changed then.
 * 2. Reads the current members and collaborators once, and plans per row: add, change the
 *    role, or leave alone. A re-run of the same file therefore sends no write request.
 * 3. Applies the plan row by row; a row that fails (unknown user, server refusal) is reported
 *    and the next row goes on. The project step of a row waits for its organization step.
 * 4. Prints a summary and exits 1 if any row failed (2 for a bad file or configuration).
 *
 * Configuration: `QFIELDCLOUD_URL` and `QFIELDCLOUD_TOKEN` (never printed), and
 * `QFIELDCLOUD_ORGANIZATION` and `QFIELDCLOUD_PROJECT_ID` or the flags below.
 *
 * Run it:
 * ```sh
 * deno run -A examples/onboard_from_csv.ts people.csv --organization my-org --project <id> [--dry-run]
 * ```
 * `--dry-run` prints the plan and changes nothing.
 *
 * Why a hand-written CSV reader: the library takes no dependencies and `jsr:@std/csv` is not
 * reachable from every build machine; RFC 4180 (quoted fields, `""` escapes, commas and line
 * breaks inside quotes, CRLF) fits in 50 lines and is tested with the example.
 *
 * @example Plan without changing anything
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { onboardFromCsv } from "./onboard_from_csv.ts";
 *
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const report = await onboardFromCsv(client, "username,org_role,proj_role\nbob,member,editor\n", {
 *   organization: "my-org",
 *   projectId: "…",
 *   dryRun: true,
 * });
 * for (const step of report.steps) console.log(step.description, step.outcome);
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  Client,
  type Collaborator,
  type OrganizationMember,
  OrganizationMemberRole,
  ProjectCollaboratorRole,
} from "@qfieldcloud/sdk";

/**
 * Splits CSV text into records of fields (RFC 4180): fields may be quoted, a quote inside a
 * quoted field is written `""`, and quoted fields may hold the separator and line breaks.
 * Lines end in LF or CRLF. Each record carries the line it starts on, for error messages.
 * Throws a `SyntaxError` naming the line of an unterminated quote.
 *
 * @example
 * ```ts
 * parseCsv('a,"b,c"\r\n"say ""hi""",d\n');
 * // [{ line: 1, fields: ["a", "b,c"] }, { line: 2, fields: ['say "hi"', "d"] }]
 * ```
 */
export function parseCsv(text: string, separator = ","): { line: number; fields: string[] }[] {
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let recordLine = 1;
  let quoted = false;
  let quoteLine = 0;
  let atFieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') {
        quoted = false;
      } else {
        if (char === "\n") line++;
        field += char;
      }
    } else if (char === '"' && atFieldStart) {
      quoted = true;
      quoteLine = line;
      atFieldStart = false;
    } else if (char === separator) {
      fields.push(field);
      field = "";
      atFieldStart = true;
    } else if (char === "\n" || (char === "\r" && text[i + 1] === "\n")) {
      if (char === "\r") i++;
      fields.push(field);
      records.push({ line: recordLine, fields });
      fields = [];
      field = "";
      atFieldStart = true;
      line++;
      recordLine = line;
    } else {
      field += char;
      atFieldStart = false;
    }
  }
  if (quoted) throw new SyntaxError(`Line ${quoteLine}: a quoted field is never closed`);
  if (field !== "" || fields.length) {
    fields.push(field);
    records.push({ line: recordLine, fields });
  }
  return records;
}

/** One checked row of the onboarding file. */
export interface OnboardingRow {
  /** Line of the file the row starts on. */
  line: number;
  /** The user. */
  username: string;
  /** Their organization role. */
  orgRole: OrganizationMemberRole;
  /** Their project role, or null for none. */
  projRole: ProjectCollaboratorRole | null;
}

const COLUMNS = ["username", "org_role", "proj_role"] as const;
const ORG_ROLES: readonly string[] = Object.values(OrganizationMemberRole);
const PROJECT_ROLES: readonly string[] = Object.values(ProjectCollaboratorRole);

/**
 * Reads and checks the onboarding CSV. Returns the rows when the file is good, or every
 * problem found (one message per problem, each naming the line and the value).
 *
 * @example
 * ```ts
 * const { rows, errors } = readOnboardingCsv("username,org_role,proj_role\nbob,owner,\n");
 * // errors: ['Line 2: unknown org_role "owner" (use admin or member)']
 * ```
 */
export function readOnboardingCsv(text: string): { rows: OnboardingRow[]; errors: string[] } {
  text = text.replace(/^\uFEFF/, "");
  const firstLine = text.split(/\r?\n/, 1)[0];
  const separator = firstLine.split(";").length > firstLine.split(",").length ? ";" : ",";
  let records;
  try {
    records = parseCsv(text, separator).filter((r) => r.fields.some((f) => f.trim() !== ""));
  } catch (error) {
    return { rows: [], errors: [(error as Error).message] };
  }
  if (!records.length) return { rows: [], errors: ["The file is empty: expected a header row"] };
  const [header, ...body] = records;
  const names = header.fields.map((f) => f.trim().toLowerCase());
  const missing = COLUMNS.filter((c) => !names.includes(c));
  if (missing.length) {
    return {
      rows: [],
      errors: [
        `Line ${header.line}: missing column${missing.length > 1 ? "s" : ""} ${
          missing.map((m) => `"${m}"`).join(", ")
        } (the header is "${header.fields.join(separator)}"; expected ${COLUMNS.join(separator)})`,
      ],
    };
  }
  const index = Object.fromEntries(COLUMNS.map((c) => [c, names.indexOf(c)]));
  const errors: string[] = [];
  const rows: OnboardingRow[] = [];
  const seen = new Map<string, number>();
  if (!body.length) errors.push("The file has a header but no rows");
  for (const record of body) {
    const at = `Line ${record.line}`;
    if (record.fields.length !== header.fields.length) {
      errors.push(
        `${at}: expected ${header.fields.length} fields, found ${record.fields.length} ` +
          `("${record.fields.join(separator)}")`,
      );
      continue;
    }
    const username = record.fields[index.username].trim();
    const orgRole = record.fields[index.org_role].trim().toLowerCase();
    const projRole = record.fields[index.proj_role].trim().toLowerCase();
    const problems: string[] = [];
    if (!username) problems.push("empty username");
    if (!ORG_ROLES.includes(orgRole)) {
      problems.push(
        orgRole
          ? `unknown org_role "${record.fields[index.org_role].trim()}" (use admin or member)`
          : "empty org_role (use admin or member)",
      );
    }
    if (projRole && !PROJECT_ROLES.includes(projRole)) {
      problems.push(
        `unknown proj_role "${record.fields[index.proj_role].trim()}" ` +
          `(use ${PROJECT_ROLES.join(", ")}, or leave it empty)`,
      );
    }
    if (username) {
      const key = username.toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) problems.push(`"${username}" is already listed on line ${first}`);
      else seen.set(key, record.line);
    }
    if (problems.length) {
      errors.push(`${at}: ${problems.join("; ")}`);
      continue;
    }
    rows.push({
      line: record.line,
      username,
      orgRole: orgRole as OrganizationMemberRole,
      projRole: (projRole || null) as ProjectCollaboratorRole | null,
    });
  }
  return { rows: errors.length ? [] : rows, errors };
}

/** One planned change (or non-change) and what became of it. */
export interface OnboardingStep {
  /** Line of the row. */
  line: number;
  /** The user. */
  username: string;
  /** `organization` membership or `project` collaboration. */
  target: "organization" | "project";
  /** `add`, `change` (the role), or `keep` (already in place). */
  action: "add" | "change" | "keep";
  /** The role asked for. */
  role: string;
  /** The role before, when changing. */
  previousRole?: string;
  /** `planned` (dry run), `done`, `unchanged`, `failed` or `skipped` (its row failed before). */
  outcome: "planned" | "done" | "unchanged" | "failed" | "skipped";
  /** Why it failed or was skipped. */
  reason?: string;
  /** A sentence saying what the step is. */
  description: string;
}

/** What {@linkcode onboardFromCsv} did. */
export interface OnboardingReport {
  /** Problems with the file; when there are any, nothing was done. */
  errors: string[];
  /** Every step, in file order. */
  steps: OnboardingStep[];
  /** Counts of the steps by outcome. */
  counts: Record<OnboardingStep["outcome"], number>;
  /** Usernames of the rows that failed. */
  failedRows: string[];
}

/** Options of {@linkcode onboardFromCsv}. */
export interface OnboardingOptions {
  /** The organization to add members to. */
  organization: string;
  /** The project to add collaborators to; needed when a row has a `proj_role`. */
  projectId?: string;
  /** Plan only: read the current state, change nothing. */
  dryRun?: boolean;
  /** Called with a line for each step as it completes; default none. */
  log?: (line: string) => void;
}

/**
 * Checks the CSV, then adds or updates organization members and project collaborators,
 * leaving alone those already in place. See the module documentation for the rules.
 *
 * @example
 * ```ts
 * const report = await onboardFromCsv(client, csvText, { organization: "my-org", projectId });
 * if (report.errors.length || report.failedRows.length) Deno.exitCode = 1;
 * ```
 */
export async function onboardFromCsv(
  client: Client,
  csvText: string,
  options: OnboardingOptions,
): Promise<OnboardingReport> {
  const { rows, errors } = readOnboardingCsv(csvText);
  if (!errors.length && !options.projectId) {
    for (const row of rows) {
      if (row.projRole) {
        errors.push(
          `Line ${row.line}: proj_role "${row.projRole}" given but no project ` +
            "(set --project or QFIELDCLOUD_PROJECT_ID)",
        );
      }
    }
  }
  const report: OnboardingReport = {
    errors,
    steps: [],
    counts: { planned: 0, done: 0, unchanged: 0, failed: 0, skipped: 0 },
    failedRows: [],
  };
  if (errors.length) return report;

  const members = new Map<string, OrganizationMember>(
    (await client.getOrganizationMembers(options.organization)).map((m) => [
      m.member.toLowerCase(),
      m,
    ]),
  );
  let collaborators = new Map<string, Collaborator>();
  let projectOwner = "";
  if (options.projectId && rows.some((r) => r.projRole)) {
    projectOwner = (await client.getProject(options.projectId)).owner.toLowerCase();
    collaborators = new Map(
      (await client.getProjectCollaborators(options.projectId)).map((c) => [
        c.collaborator.toLowerCase(),
        c,
      ]),
    );
  }

  const log = options.log ?? (() => {});
  for (const row of rows) {
    const key = row.username.toLowerCase();
    const current = members.get(key);
    const orgStep = makeStep(row, "organization", row.orgRole, current?.role, options);
    await perform(
      orgStep,
      options,
      () =>
        orgStep.action === "add"
          ? client.addOrganizationMember(options.organization, row.username, { role: row.orgRole })
          : client.patchOrganizationMembers(options.organization, row.username, {
            role: row.orgRole,
          }),
    );
    report.steps.push(orgStep);
    log(formatStep(orgStep));
    if (!row.projRole || !options.projectId) continue;

    const projectId = options.projectId;
    const role = row.projRole;
    const projStep = makeStep(row, "project", role, collaborators.get(key)?.role, options);
    if (key === projectOwner) {
      projStep.action = "keep";
      projStep.outcome = "unchanged";
      projStep.reason = "owns the project";
    } else if (orgStep.outcome === "failed") {
      projStep.outcome = "skipped";
      projStep.reason = "its organization step failed";
    } else {
      await perform(
        projStep,
        options,
        () =>
          projStep.action === "add"
            ? client.addProjectCollaborator(projectId, row.username, role)
            : client.patchProjectCollaborators(projectId, row.username, role),
      );
    }
    report.steps.push(projStep);
    log(formatStep(projStep));
  }

  for (const step of report.steps) report.counts[step.outcome]++;
  report.failedRows = [
    ...new Set(report.steps.filter((s) => s.outcome === "failed").map((s) => s.username)),
  ];
  return report;
}

function makeStep(
  row: OnboardingRow,
  target: OnboardingStep["target"],
  role: string,
  currentRole: string | undefined,
  options: OnboardingOptions,
): OnboardingStep {
  const action = currentRole === undefined ? "add" : currentRole === role ? "keep" : "change";
  const where = target === "organization"
    ? `organization "${options.organization}"`
    : `project ${options.projectId}`;
  const description = action === "add"
    ? `add ${row.username} to ${where} as ${role}`
    : action === "change"
    ? `change ${row.username} in ${where} from ${currentRole} to ${role}`
    : `keep ${row.username} in ${where} as ${role}`;
  return {
    line: row.line,
    username: row.username,
    target,
    action,
    role,
    ...(action === "change" ? { previousRole: currentRole } : {}),
    outcome: action === "keep" ? "unchanged" : options.dryRun ? "planned" : "done",
    description,
  };
}

async function perform(
  step: OnboardingStep,
  options: OnboardingOptions,
  write: () => Promise<unknown>,
): Promise<void> {
  if (step.action === "keep" || options.dryRun) return;
  try {
    await write();
  } catch (error) {
    step.outcome = "failed";
    step.reason = (error instanceof Error ? error.message : String(error)).split("\n")[0];
  }
}

/**
 * Formats a step as one line of the plan or the log.
 *
 * @example
 * ```ts
 * console.log(formatStep(step)); // "line 2: add bob to organization "my-org" as member: done"
 * ```
 */
export function formatStep(step: OnboardingStep): string {
  const reason = step.reason ? ` (${step.reason})` : "";
  return `line ${step.line}: ${step.description}: ${step.outcome}${reason}`;
}

/**
 * Formats the closing summary line.
 *
 * @example
 * ```ts
 * console.log(formatSummary(report)); // "3 done, 2 unchanged, 0 failed, 0 skipped"
 * ```
 */
export function formatSummary(report: OnboardingReport): string {
  const { planned, done, unchanged, failed, skipped } = report.counts;
  const head = planned ? `${planned} planned` : `${done} done`;
  const tail = report.failedRows.length ? `; failed rows: ${report.failedRows.join(", ")}` : "";
  return `${head}, ${unchanged} unchanged, ${failed} failed, ${skipped} skipped${tail}`;
}

const USAGE =
  "Usage: onboard_from_csv.ts <file.csv> --organization <org> [--project <id>] [--dry-run]";

/** Reads the command line: one CSV file and the options of the module doc. */
function readArgs(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      "organization": { type: "string" },
      "project": { type: "string" },
      "dry-run": { type: "boolean", default: false },
    },
  });
  if (positionals.length > 1) {
    throw new Error(`Unexpected argument "${positionals[1]}": give one CSV file`);
  }
  return {
    file: positionals[0],
    organization: values.organization,
    project: values.project,
    dryRun: values["dry-run"],
  };
}

async function main(args: string[]): Promise<number> {
  const parsed = readArgs(args);
  const organization = parsed.organization ?? Deno.env.get("QFIELDCLOUD_ORGANIZATION");
  const projectId = parsed.project ?? Deno.env.get("QFIELDCLOUD_PROJECT_ID");
  if (!parsed.file) throw new Error(USAGE);
  if (!organization) {
    throw new Error("Give the organization with --organization or QFIELDCLOUD_ORGANIZATION");
  }
  let text: string;
  try {
    text = await Deno.readTextFile(parsed.file);
  } catch (error) {
    throw new Error(`Cannot read "${parsed.file}": ${(error as Error).message}`);
  }
  const client = new Client({ userAgent: "onboard-from-csv" });
  const report = await onboardFromCsv(client, text, {
    organization,
    projectId,
    dryRun: parsed.dryRun,
    log: (line) => console.log(line),
  });
  if (report.errors.length) {
    console.error(`${parsed.file}: ${report.errors.length} problem(s), nothing was changed:`);
    for (const error of report.errors) console.error(`  ${error}`);
    return 2;
  }
  console.log(formatSummary(report));
  return report.failedRows.length ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`onboard_from_csv: ${(error as Error).message.split("\n")[0]}`);
    Deno.exit(2);
  }
}
