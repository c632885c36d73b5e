// File names in any script, in both Unicode normalization forms, go up and come back under
// the exact name: uploaded by our client and by raw multipart bodies shaped like the Python
// SDK's (requests-toolbelt writes the name as raw UTF-8 in `filename="…"`) and like the
// RFC 2231 `filename*=UTF-8''…` form, both of which Django's multipart parser reads.
import { expect } from "expect";
import { join } from "node:path";
import { Client, etagOfBytes } from "../mod.ts";
import { startTestServer } from "../testing/mod.ts";

const SCRIPTS = [
  "Łódź.txt",
  "Plzeň mapa.pdf",
  "Ωmega.txt",
  "写真.jpg",
  "trees 🌳🐝.txt",
  "DCIM/résumé ünïcødé ✓.txt",
  "field notes ünïcødé ✓.txt", // the official Python CLI's upload that used to fail
];
/** Every name in NFC and, where it differs, NFD: two distinct files for the server. */
const NAMES = SCRIPTS.flatMap((name) => {
  const nfc = name.normalize("NFC");
  const nfd = name.normalize("NFD");
  return nfc === nfd ? [nfc] : [nfc, nfd];
});

const contentOf = (name: string, via: string) => new TextEncoder().encode(`${via}: ${name}\n`);

function pathOf(projectId: string, name: string): string {
  return `files/${projectId}/${name.split("/").map(encodeURIComponent).join("/")}/`;
}

/** A multipart body with one `file` part whose Content-Disposition ends in `disposition`. */
function multipartBody(
  boundary: string,
  disposition: string,
  content: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const head = new TextEncoder().encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; ${disposition}\r\n` +
      `Content-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = new TextEncoder().encode(`\r\n--${boundary}--\r\n`);
  return new Uint8Array([...head, ...content, ...tail]);
}

Deno.test("file names in every script and both normal forms round-trip exactly", async (t) => {
  const server = await startTestServer({
    users: [{ username: "u1", password: "pw" }],
    quiet: true,
  });
  const dir = await Deno.makeTempDir({ prefix: "qfc-unicode-" });
  const token = server.createToken("u1");
  const client = new Client({ url: server.url, token });
  expect(new Set(NAMES).size).toBeGreaterThan(SCRIPTS.length);

  /** Lists the project and checks each name is there once, downloads intact, etag and all. */
  const expectRoundTrip = async (projectId: string, expected: Map<string, Uint8Array>) => {
    const listed = await client.listRemoteFiles(projectId);
    expect(listed.map((f) => f.name).sort()).toEqual([...expected.keys()].sort());
    for (const file of listed) {
      expect(file.md5sum).toBe(etagOfBytes(expected.get(file.name)!));
      const target = join(dir, "down", crypto.randomUUID());
      await client.downloadFile(projectId, file.name, target);
      expect(await Deno.readFile(target)).toEqual(expected.get(file.name));
    }
  };

  try {
    await t.step("uploaded by our client from local files", async () => {
      const { id } = server.addProject({ name: "client", owner: "u1" });
      const expected = new Map<string, Uint8Array>();
      for (const name of NAMES) {
        const local = join(dir, "up", ...name.split("/"));
        await Deno.mkdir(join(local, ".."), { recursive: true });
        const content = contentOf(name, "client");
        await Deno.writeFile(local, content);
        expected.set(name, content);
      }
      const results = await client.uploadFiles(id, join(dir, "up"), { throwOnError: true });
      expect(results.map((r) => r.status)).toEqual(NAMES.map(() => "SUCCESS"));
      await expectRoundTrip(id, expected);
    });

    const rawForms: [string, (name: string) => string][] = [
      // What requests-toolbelt (urllib3's HTML5 style) writes: raw UTF-8, `"` as %22.
      ["plain UTF-8 filename", (name) => `filename="${name.replaceAll('"', "%22")}"`],
      ["RFC 2231 filename*", (name) => `filename*=UTF-8''${encodeURIComponent(name)}`],
    ];
    for (const [index, [label, disposition]] of rawForms.entries()) {
      await t.step(`uploaded as a raw multipart body with a ${label}`, async () => {
        const { id } = server.addProject({ name: `raw-${index}`, owner: "u1" });
        const expected = new Map<string, Uint8Array>();
        for (const name of NAMES) {
          const content = contentOf(name, label);
          const boundary = crypto.randomUUID().replaceAll("-", "");
          const response = await fetch(new URL(pathOf(id, name), server.url), {
            method: "POST",
            headers: {
              authorization: `token ${token}`,
              "content-type": `multipart/form-data; boundary=${boundary}`,
            },
            body: multipartBody(boundary, disposition(name.split("/").at(-1)!), content),
          });
          expect([name, response.status, await response.text()]).toEqual([name, 201, "{}"]);
          expected.set(name, content);
        }
        await expectRoundTrip(id, expected);
      });
    }

    await t.step({
      name: "uploaded by curl -F file=@Ωtest.txt",
      ignore: !(await hasCurl()),
      fn: async () => {
        const { id } = server.addProject({ name: "curl", owner: "u1" });
        const local = join(dir, "Ωtest.txt");
        await Deno.writeTextFile(local, "curl: Ωtest.txt\n");
        const output = await new Deno.Command("curl", {
          args: [
            "--silent",
            "--show-error",
            "--fail",
            "-H",
            `Authorization: Token ${token}`,
            "-F",
            `file=@${local}`,
            new URL(pathOf(id, "Ωtest.txt"), server.url).href,
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        expect([output.code, new TextDecoder().decode(output.stderr)]).toEqual([0, ""]);
        await expectRoundTrip(id, new Map([["Ωtest.txt", await Deno.readFile(local)]]));
      },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await server.close();
  }
});

async function hasCurl(): Promise<boolean> {
  try {
    return (await new Deno.Command("curl", { args: ["--version"], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
}
