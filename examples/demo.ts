/**
 * `deno task demo`: a real qfieldcloud-cli session against the embedded test
 * server, no account or network needed. It logs in, creates a project,
 * uploads a small QGIS project with a photo, lists the files, packages the
 * project and waits for it, downloads the package for QField, keeps an office folder
 * in step with the cloud (pull, sync, a conflict resolved with its backup kept), and
 * ends with a JSON listing; each command line is printed with what it printed, in the
 * form that runs from a clone of this repository (`deno run -A cli.ts …`).
 *
 * @module
 */

import { main } from "../cli.ts";
import { startTestServer } from "../testing/mod.ts";
import { makeQgs } from "../tests/fixtures/qgis_project.ts";

/** A tiny JPEG: the photo taken in the field. */
const PHOTO = Uint8Array.from(
  atob(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/yQALCAABAAEBAREA/8wABgAQEAX/2gAIAQEAAD8A0s8g/9k=",
  ),
  (c) => c.charCodeAt(0),
);

const bold = (text: string) => Deno.stdout.isTerminal() ? `\x1b[1m${text}\x1b[0m` : text;

await using server = await startTestServer({
  users: [{ username: "surveyor", password: "field-work-2026" }],
  jobSeconds: 0.5,
  quiet: true,
});
const work = await Deno.makeTempDir({ prefix: "qfieldcloud-demo-" });
const env: Record<string, string> = {
  QFIELDCLOUD_URL: server.url,
  QFIELDCLOUD_CONFIG_DIR: `${work}/config`, // keep the demo's login out of your real config
  NO_COLOR: "1",
};

/** How a clone runs the CLI; with `qfieldcloud-cli` installed, that name replaces it. */
const CLI = "deno run -A cli.ts";

/** Runs one CLI command in-process, printing the command line and its output. */
async function cli(args: string[], stdin?: string, expectedCode = 0): Promise<string> {
  const shown = args.map((a) => /[\s"'$]/.test(a) ? `'${a.replaceAll("'", `'\\''`)}'` : a)
    .join(" ");
  const piped = stdin === undefined ? "" : `printf '%s\\n' ${stdin.trim()} | `;
  console.log(bold(`$ ${piped}${CLI} ${shown}`));
  let stdout = "";
  const code = await main(args, {
    stdout: { write: (text) => void (stdout += text), isTerminal: false },
    stderr: {
      write: (text) => void Deno.stdout.writeSync(new TextEncoder().encode(text)),
      isTerminal: false,
    },
    env: (name) => env[name],
    stdinIsTerminal: false,
    readStdin: () => Promise.resolve(stdin ?? ""),
  });
  // The token is secret even in a demo: show its shape, not its value.
  console.log(stdout.replace(/(QFIELDCLOUD_TOKEN=")[^"]+/, "$1…").trimEnd());
  if (code !== expectedCode) throw new Error(`qfieldcloud-cli ${shown} exited with ${code}`);
  if (code !== 0) console.log(`(exit code ${code})`);
  console.log();
  return stdout;
}

/** The files below a folder, as sorted relative paths. */
async function tree(root: string, prefix = ""): Promise<string[]> {
  const paths: string[] = [];
  for await (const entry of Deno.readDir(`${root}/${prefix}`)) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory) paths.push(...await tree(root, `${path}/`));
    else if (!path.startsWith(".qfieldcloud/") || path.includes("/backups/")) paths.push(path);
  }
  return paths.sort();
}

const home = Deno.cwd();
try {
  console.log(`Test server: ${server.url}`);
  console.log(
    `Each line runs as printed from a clone of this repository. To replay them yourself, start\n` +
      `\`deno task serve --user surveyor:field-work-2026\`, export the QFIELDCLOUD_URL it prints,\n` +
      `and create the survey folder; with qfieldcloud-cli on your PATH, write qfieldcloud-cli\n` +
      `for "${CLI}".\n`,
  );
  // Local paths are shown relative to the demo's folder, as a reader would type them.
  Deno.chdir(work);

  // A small QGIS project with a photo, as QFieldSync would prepare it.
  const local = `${work}/survey`;
  await Deno.mkdir(`${local}/DCIM`, { recursive: true });
  await Deno.writeTextFile(
    `${local}/survey.qgs`,
    makeQgs({ title: "survey", layers: [] }),
  );
  await Deno.writeFile(`${local}/DCIM/tree-0001.jpg`, PHOTO);

  await cli(["login", "surveyor", "--password-stdin"], "field-work-2026\n");
  const created = await cli(["create-project", "survey-2026", "--description", "Street trees"]);
  const id = created.match(/with id ([0-9a-f-]{36})/)![1];
  await cli(["upload-files", id, "survey"]);
  await cli(["list-files", id]);
  await cli(["job-trigger", id, "package", "--wait", "--interval", "0.2"]);
  await cli(["package-latest", id]);
  await cli(["package-download", id, "for-qfield"]);
  await cli(["whoami"]);

  // The office keeps a folder in step with the cloud, while QField adds photos in the field.
  const project = "surveyor/survey-2026";
  await cli(["pull", project, "office"]);
  await server.putFile(id, "DCIM/tree-0002.jpg", PHOTO); // a photo synced from QField
  await Deno.writeTextFile(`${work}/office/notes.txt`, "Check the oak on Main Street\n");
  await cli(["sync", project, "office", "--dry-run"]);
  await cli(["sync", project, "office"]);
  // Both sides change the same file: sync leaves it alone and says so (exit code 13)...
  await server.putFile(id, "notes.txt", "Oak checked: healthy\n");
  await Deno.writeTextFile(`${work}/office/notes.txt`, "Check the oak and the lime\n");
  await cli(["sync", project, "office"], undefined, 13);
  // ...until told which side wins; the office's version is kept in the backups folder.
  await cli(["sync", project, "office", "--prefer", "cloud"]);
  console.log("The office folder, with the backup of the replaced notes:");
  for (const path of await tree(`${work}/office`)) console.log(`  ${path}`);
  console.log();

  await cli(["list-projects"]);
  await cli(["--json", "list-files", id]);
  console.log("The package, as QField would receive it:");
  for await (const entry of Deno.readDir(`${work}/for-qfield`)) {
    const info = await Deno.stat(`${work}/for-qfield/${entry.name}`);
    console.log(`  ${entry.name}${entry.isDirectory ? "/" : `  (${info.size} bytes)`}`);
  }
} finally {
  Deno.chdir(home);
  await Deno.remove(work, { recursive: true });
}
