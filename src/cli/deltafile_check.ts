/**
 * Checks a delta file before `delta-push` sends it. The server answers a file
 * that breaks its schema with `500 unknown_error` (and keeps it as a faulty
 * delta file), which reads like a failure worth retrying; this check says
 * what is wrong instead, and sends nothing.
 *
 * @module
 */

import { deltafileError } from "../../testing/deltafile.ts";
import { CliError } from "./errors.ts";
import { ExitCode } from "./exit_codes.ts";

const SCHEMA_HINT =
  "Nothing was sent. The schema is docker-app/qfieldcloud/core/deltafile_01.json " +
  "in opengisch/QFieldCloud";

/**
 * Throws a usage error (exit 2) when the delta file is not JSON, breaks the
 * deltafile schema, lacks a delta's `clientId` (which the server reads), or
 * was made for another project. A file that cannot be read is left to the
 * push, which reports it.
 *
 * @example
 * ```ts ignore
 * await checkDeltafile("deltafile.json", projectId);
 * await client.pushDelta(projectId, "deltafile.json");
 * ```
 */
export async function checkDeltafile(path: string, projectId: string): Promise<void> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return;
  }
  const fail = (problem: string, hint = SCHEMA_HINT): never => {
    throw new CliError(`Delta file "${path}" ${problem}`, ExitCode.USAGE, { hint });
  };
  let value: unknown;
  try {
    // The server strips NUL bytes before parsing, so this does too.
    value = JSON.parse(text.replaceAll("\\u0000", "").replaceAll("\0", ""));
  } catch (error) {
    return fail(`is not JSON: ${parseProblem(error)}`, "Nothing was sent");
  }
  const schemaError = deltafileError(value);
  if (schemaError) return fail(`does not follow the deltafile schema: ${schemaError}`);
  const file = value as { project: string; deltas: Record<string, unknown>[] };
  const index = file.deltas.findIndex((delta) => typeof delta.clientId !== "string");
  if (index !== -1) {
    fail(`does not follow the deltafile schema: $.deltas[${index}] lacks "clientId"`);
  }
  if (file.project.toLowerCase() !== projectId.toLowerCase()) {
    fail(
      `was made for project "${file.project}", not "${projectId}"`,
      "Nothing was sent; push it to the project it was made for",
    );
  }
}

/** The parser's message on one line, without the copy of the file's text V8 puts in it. */
function parseProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/, ".*is not valid JSON$/s, "").split("\n")[0];
}
