// A QGIS file broken after its root tag: the real server reads only the root at upload
// (opengisch/QFieldCloud docker-app/qfieldcloud/filestorage/utils.py,
// get_qgis_version_from_project_file), so the upload is accepted and the package job on it
// fails (docker-app/qfieldcloud/core/tests/test_packages.py,
// test_list_files_for_qfield_broken_file). The fixture is that test's
// core/tests/testdata/delta/broken.qgs, well-formed up to line 20.
import { expect } from "expect";
import { Client, QfcJobFailedException, QfcRequestException } from "../mod.ts";
import { startTestServer } from "../testing/mod.ts";
import {
  InvalidQgisProjectError,
  parseQgisProject,
  qgisProjectFileVersion,
} from "../testing/qgis.ts";

const BROKEN = new URL("./fixtures/broken.qgs", import.meta.url);
const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("qgisProjectFileVersion() reads only the root start tag, as the server does", async () => {
  const broken = await Deno.readFile(BROKEN);
  expect(qgisProjectFileVersion(broken)).toBe("3.30.0");
  expect(() => parseQgisProject(broken)).toThrow(InvalidQgisProjectError);
  const accepted: [string, string][] = [
    ['<?xml version="1.0"?><!-- c --><qgis version="3.28.1-Firenze"><unclosed>', "3.28.1"],
    ['<qgis version="3.40.0"/>trailing junk <<<', "3.40.0"],
  ];
  for (const [xml, version] of accepted) {
    expect(qgisProjectFileVersion(encode(xml))).toBe(version);
  }
  const refused: [string, RegExp][] = [
    ['<project version="3.34.0"/>', /Expected root tag "qgis", got "project"/],
    ["<qgis/>", /Missing "version" attribute/],
    ['<qgis version="latest"/>', /Invalid QGIS version "latest"/],
    ['<qgis version="3.34">', /Invalid QGIS version "3.34"/],
    ["not xml at all", /Invalid QGIS project file/],
    ['<qgis version="3.34.0"', /Invalid QGIS project file/],
  ];
  for (const [xml, message] of refused) {
    expect(() => qgisProjectFileVersion(encode(xml))).toThrow(message);
  }
});

Deno.test("a QGIS file broken after line 20 uploads, and its package job fails", async () => {
  const server = await startTestServer({
    users: [{ username: "u1", password: "pw" }],
    jobSeconds: 0.05,
    quiet: true,
  });
  const dir = await Deno.makeTempDir({ prefix: "qfc-broken-" });
  try {
    const client = new Client({ url: server.url, token: server.createToken("u1") });
    const { id } = server.addProject({ name: "broken", owner: "u1" });
    await Deno.copyFile(BROKEN, `${dir}/broken.qgs`);
    const result = await client.uploadFile(id, `${dir}/broken.qgs`, "broken.qgs");
    expect(result.status).toBe("SUCCESS");
    expect((await client.getProject(id)).the_qgis_file_name).toBe("broken.qgs");

    const job = await client.jobTrigger(id, "package");
    const failure = await client.waitForJob(job.id, { intervalMs: 20 }).catch((e) => e);
    expect(failure).toBeInstanceOf(QfcJobFailedException);
    expect([failure.job.type, failure.job.status]).toEqual(["package", "failed"]);

    // A root that is not <qgis version="x.y.z…"> is still refused at upload.
    await Deno.writeTextFile(`${dir}/other.qgs`, '<project version="3.34.0"></project>');
    const { id: other } = server.addProject({ name: "other", owner: "u1" });
    const refused = await client.uploadFile(other, `${dir}/other.qgs`, "other.qgs")
      .catch((e) => e);
    expect(refused).toBeInstanceOf(QfcRequestException);
    expect([refused.status, refused.code]).toEqual([400, "invalid_qgis_project_file"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await server.close();
  }
});
