// Raw-fetch tests of the test server's file endpoints: listing formats, the
// upload validation order, versions, etag vectors, downloads and deletion.
import { expect } from "expect";
import type { TestServer, TestServerOptions } from "../testing/mod.ts";
import { withServer } from "./fixtures/server.ts";

const QGS = '<qgis version="3.34.0-Prizren"><projectlayers/></qgis>';

/** A server with alice's project "p1": runs `fn` with alice's headers and the project id. */
function withProject(
  fn: (server: TestServer, headers: HeadersInit, projectId: string) => Promise<void>,
  options: TestServerOptions = {},
): Promise<void> {
  const users = [{ username: "alice", password: "pw" }, { username: "bob", password: "pw" }];
  return withServer({ users, jobSeconds: 0.01, ...options }, (server) => {
    const { id } = server.addProject({ name: "p1", owner: "alice" });
    return fn(server, { Authorization: `Token ${server.createToken("alice", "cli|t")}` }, id);
  });
}

function multipart(parts: [string, BlobPart, string?][]): FormData {
  const fd = new FormData();
  for (const [name, content, filename] of parts) {
    if (filename === undefined) fd.append(name, String(content));
    else fd.append(name, new Blob([content]), filename);
  }
  return fd;
}

async function upload(
  server: TestServer,
  headers: HeadersInit,
  projectId: string,
  name: string,
  body: BodyInit,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(`${server.url}files/${projectId}/${name}/`, {
    method: "POST",
    headers,
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const file = (content: BlobPart) => multipart([["file", content, "ignored-name"]]);

Deno.test("test server files: listing formats and etag vectors", async (t) => {
  await withProject(async (server, headers, id) => {
    await t.step(
      "Hello! uploads to the server's md5sum/sha256, 201 {} with Location",
      async () => {
        const res = await upload(server, headers, id, "DCIM/photo%201.jpg", file("Hello!"));
        expect(res.status).toBe(201);
        expect(res.body).toEqual({});
        expect(res.headers.get("location")).toBe(`/api/v1/files/${id}/DCIM/photo%201.jpg/`);
        const list = await (await fetch(`${server.url}files/${id}/`, { headers })).json();
        expect(list).toHaveLength(1);
        const item = list[0];
        expect(Object.keys(item)).toEqual([
          "name",
          "size",
          "uploaded_at",
          "is_attachment",
          "md5sum",
          "last_modified",
          "sha256",
          "versions",
        ]);
        expect(item).toMatchObject({
          name: "DCIM/photo 1.jpg",
          size: 6,
          is_attachment: true,
          md5sum: "952d2c56d0485958336747bcdd98590d",
          sha256: "334d016f755cd6dc58c53a86e183882f8ec14f52fb05345887c8a5edd42c87b7",
        });
        expect(item.last_modified).toMatch(/^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2} UTC$/);
        expect(item.uploaded_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$/);
        expect(item.versions[0].display).toMatch(/^v\d{14}$/);
        expect(item.versions[0].is_latest).toBe(true);
      },
    );

    await t.step("x * 10_000_000 gives the multipart etag", async () => {
      const big = new Uint8Array(10_000_000).fill("x".charCodeAt(0));
      expect((await upload(server, headers, id, "big.txt", file(big))).status).toBe(201);
      const res = await fetch(`${server.url}files/metadata/${id}/big.txt/`, { headers });
      const item = await res.json();
      expect(item.md5sum).toBe("1e762c1c6ca960a51ce95942752cf1f6-2");
      expect(item.sha256).toBe("0c9a42b3d065a64063eca67e98c932fa2e9a077bc7973a421a964a11304c998c");
      expect(item.size).toBe(10_000_000);
    });

    await t.step("identical re-uploads add versions, newest first", async () => {
      await upload(server, headers, id, "a.txt", file("one"));
      await upload(server, headers, id, "a.txt", file("one"));
      await upload(server, headers, id, "a.txt", file("two"));
      const res = await fetch(`${server.url}files/metadata/${id}/a.txt/`, { headers });
      const item = await res.json();
      expect(item.versions).toHaveLength(3);
      expect(item.versions.map((v: { is_latest: boolean }) => v.is_latest)).toEqual([
        true,
        false,
        false,
      ]);
      expect(item.size).toBe(3);
      expect(item.md5sum).toBe(item.versions[0].md5sum);
      expect(item.versions[1].md5sum).toBe(item.versions[2].md5sum);
      expect(item.versions[0].uploaded_at > item.versions[1].uploaded_at).toBe(true);
      // uploaded_at is the first upload's time.
      expect(item.uploaded_at).toBe(item.versions[2].uploaded_at);
    });
  });
});

Deno.test("test server files: versions beyond keepVersions are purged", async () => {
  await withProject(async (server, headers, id) => {
    for (const content of ["1", "2", "3", "4"]) {
      await upload(server, headers, id, "v.txt", file(content));
    }
    const item = await (await fetch(`${server.url}files/metadata/${id}/v.txt/`, { headers }))
      .json();
    expect(item.versions).toHaveLength(2);
    expect(item.versions.map((v: { size: number }) => v.size)).toEqual([1, 1]);
    const keys = server.state.storage.keys().filter((k) => k.includes("/v.txt/"));
    expect(keys).toHaveLength(2);
  }, { keepVersions: 2 });
});

Deno.test("test server files: upload validation order", async (t) => {
  await withProject(async (server, headers, id) => {
    const code = async (name: string, body: BodyInit, h: HeadersInit = headers) =>
      (await upload(server, h, id, name, body)).body as { code: string };

    await t.step("multiple file parts win over everything else", async () => {
      const two = multipart([["file", "a", "a"], ["file", "b", "b"]]);
      expect(await code("NUL", two)).toEqual({
        code: "multiple_contents",
        message: "Multiple contents",
      });
    });

    await t.step("no file part, or a differently named one, is empty_content", async () => {
      expect((await code("NUL", multipart([["other", "a", "a"]]))).code).toBe("empty_content");
      expect((await code("ok.txt", multipart([["file", "not a file"]]))).code).toBe(
        "empty_content",
      );
      expect((await code("ok.txt", new URLSearchParams({ file: "x" }))).code).toBe(
        "empty_content",
      );
    });

    await t.step("validate_filename rejects bad names with validation_error", async () => {
      for (
        const name of [
          "%20whitespace%20around%20",
          "x".repeat(256),
          "NUL/file.name",
          "a%3Ab",
          "dir/a..",
          "trailing.",
          "a//b",
        ]
      ) {
        expect((await code(name, file("x"))).code).toBe("validation_error");
      }
      expect((await upload(server, headers, id, "x".repeat(255), file("x"))).status).toBe(201);
      expect((await upload(server, headers, id, "inner%20sp%C3%A4ce", file("x"))).status).toBe(
        201,
      );
    });

    await t.step("a reporter may not touch the QGIS file of a restricted project", async () => {
      server.state.findProject(id)!.hasRestrictedProjectfiles = true;
      server.addCollaborator(id, "bob", "reporter");
      const bob = { Authorization: `Token ${server.createToken("bob", "cli|t")}` };
      expect((await code("project.qgs", file("not xml"), bob)).code).toBe(
        "restricted_project_modification",
      );
      expect((await upload(server, bob, id, "data.csv", file("a,b"))).status).toBe(201);
      server.state.findProject(id)!.hasRestrictedProjectfiles = false;
    });

    await t.step("an unparseable QGIS file is invalid_qgis_project_file", async () => {
      expect(await code("project.qgs", file("<html/>"))).toEqual({
        code: "invalid_qgis_project_file",
        message: "Invalid QGIS project file",
      });
    });

    await t.step("a second QGIS file is multiple_projects", async () => {
      expect((await upload(server, headers, id, "project.qgs", file(QGS))).status).toBe(201);
      expect((await code("other.qgz", file("whatever"))).code).toBe("multiple_projects");
      expect((await upload(server, headers, id, "project.qgs", file(QGS))).status).toBe(201);
    });

    await t.step("the QGIS upload starts a process_projectfile job: busy", async () => {
      const project = await (await fetch(`${server.url}projects/${id}/`, { headers })).json();
      expect(project.the_qgis_file_name).toBe("project.qgs");
      const jobs = server.state.jobsOfProject(id).filter((j) => j.type === "process_projectfile");
      expect(jobs.length).toBeGreaterThanOrEqual(1);
      expect(project.data_last_updated_at).not.toBeNull();
    });

    await t.step("readers may not upload; anonymous is 401; unknown project 404", async () => {
      server.addCollaborator(id, "bob", "reader");
      const bob = { Authorization: `Token ${server.createToken("bob", "cli|t")}` };
      expect((await code("r.txt", file("x"), bob)).code).toBe("permission_denied");
      expect((await code("r.txt", file("x"), {})).code).toBe("not_authenticated");
      const res = await upload(server, headers, crypto.randomUUID(), "r.txt", file("x"));
      expect(res.status).toBe(404);
    });
  });
});

Deno.test("test server files: over_quota is a 402 after the QGIS check", async () => {
  await withProject(async (server, headers, id) => {
    expect((await upload(server, headers, id, "a.bin", file("12345678"))).status).toBe(201);
    const bad = await upload(server, headers, id, "x.qgs", file("<html/>"));
    expect((bad.body as { code: string }).code).toBe("invalid_qgis_project_file");
    const over = await upload(server, headers, id, "b.bin", file("123"));
    expect(over.status).toBe(402);
    expect(over.body).toEqual({ code: "over_quota", message: "Quota error" });
    // QField tokens skip the quota check.
    const qfield = { Authorization: `Token ${server.createToken("alice", "qfield|3.0")}` };
    expect((await upload(server, qfield, id, "b.bin", file("123"))).status).toBe(201);
  }, { storageQuotaBytes: 10 });
});

Deno.test("test server files: downloads", async (t) => {
  await withProject(async (server, headers, id) => {
    await server.putFile(id, "dir/ä b.txt", "0123456789");
    const url = `${server.url}files/${id}/dir/%C3%A4%20b.txt/`;
    const etag = (await (await fetch(`${server.url}files/${id}/`, { headers })).json())[0].md5sum;

    await t.step("production headers", async () => {
      const res = await fetch(url, { headers });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("0123456789");
      expect(res.headers.get("etag")).toBe(`"${etag}"`);
      expect(res.headers.get("content-type")).toBe("application.force-download");
      expect(res.headers.get("content-length")).toBe("10");
      expect(res.headers.get("accept-ranges")).toBe("bytes");
      expect(res.headers.get("last-modified")).toMatch(/GMT$/);
      const disposition = res.headers.get("content-disposition")!;
      const raw = Uint8Array.from(disposition, (c) => c.charCodeAt(0));
      expect(new TextDecoder().decode(raw)).toBe('attachment;filename="dir/ä b.txt"');
    });

    await t.step("If-None-Match, quoted or not, gives an empty 304", async () => {
      for (const value of [etag, `"${etag}"`, `"other", "${etag}"`]) {
        const res = await fetch(url, { headers: { ...headers, "If-None-Match": value } });
        expect(res.status).toBe(304);
        expect(await res.text()).toBe("");
      }
      const miss = await fetch(url, { headers: { ...headers, "If-None-Match": '"nope"' } });
      expect(miss.status).toBe(200);
      await miss.body?.cancel();
    });

    await t.step("Range gives 206; a bad range 416 invalid_http_range", async () => {
      const res = await fetch(url, { headers: { ...headers, Range: "bytes=2-5" } });
      expect(res.status).toBe(206);
      expect(res.headers.get("content-range")).toBe("bytes 2-5/10");
      expect(res.headers.get("content-length")).toBe("4");
      expect(await res.text()).toBe("2345");
      const open = await fetch(url, { headers: { ...headers, Range: "bytes=7-" } });
      expect(await open.text()).toBe("789");
      for (const range of ["bytes=10-", "bytes=5-2", "bytes=-3", "items=0-1", "bytes=0-10"]) {
        const bad = await fetch(url, { headers: { ...headers, Range: range } });
        expect(bad.status).toBe(416);
        expect(await bad.json()).toEqual({
          code: "invalid_http_range",
          message: "The provided HTTP range header is invalid.",
        });
      }
    });

    await t.step("?version= selects an older version; unknown ones are 404", async () => {
      await server.putFile(id, "dir/ä b.txt", "new");
      const item = (await (await fetch(`${server.url}files/${id}/`, { headers })).json())[0];
      const old = item.versions[1].version_id;
      const res = await fetch(`${url}?version=${old}`, { headers });
      expect(await res.text()).toBe("0123456789");
      const latest = await fetch(url, { headers });
      expect(await latest.text()).toBe("new");
      const unknown = await fetch(`${url}?version=${crypto.randomUUID()}`, { headers });
      expect((await unknown.json()).code).toBe("object_not_found");
      const malformed = await fetch(`${url}?version=abc`, { headers });
      expect((await malformed.json()).code).toBe("validation_error");
      const missing = await fetch(`${server.url}files/${id}/nope.txt/`, { headers });
      expect(await missing.json()).toEqual({
        code: "object_not_found",
        message: "Object not found",
      });
    });
  });
});

Deno.test("test server files: deletion rules", async (t) => {
  await withProject(async (server, headers, id) => {
    const del = async (name: string, extra: HeadersInit = {}, query = "") => {
      const res = await fetch(`${server.url}files/${id}/${name}/${query}`, {
        method: "DELETE",
        headers: { ...headers, ...extra },
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    await server.putFile(id, "one.txt", "1");
    await server.putFile(id, "two.txt", "a");
    await server.putFile(id, "two.txt", "b");
    await server.putFile(id, "two.txt", "c");
    const versions = server.state.findProject(id)!.files.get("two.txt")!.versions;
    const [newest, middle] = versions.map((v) => v.versionId);

    await t.step(
      "the last version cannot be deleted explicitly, even with a bogus id",
      async () => {
        const res = await del("one.txt", { "x-file-version": crypto.randomUUID() });
        expect(res).toEqual({
          status: 400,
          body: {
            code: "explicit_deletion_of_last_version",
            message: "Explicit deletion of last file version is not allowed!",
          },
        });
        expect((await del("unknown.txt", {}, `?version=${crypto.randomUUID()}`)).body.code).toBe(
          "explicit_deletion_of_last_version",
        );
      },
    );

    await t.step("an unknown version of a multi-version file is 404 api_error", async () => {
      const res = await del("two.txt", {}, `?version=${crypto.randomUUID()}`);
      expect(res).toEqual({ status: 404, body: { code: "api_error", message: "API Error" } });
    });

    await t.step("?version= wins over x-file-version", async () => {
      const res = await del("two.txt", { "x-file-version": newest }, `?version=${middle}`);
      expect(res.status).toBe(204);
      const left = server.state.findProject(id)!.files.get("two.txt")!.versions;
      expect(left.map((v) => v.versionId)).not.toContain(middle);
      expect(left.map((v) => v.versionId)).toContain(newest);
      expect((await del("two.txt", { "x-file-version": newest })).status).toBe(204);
      expect(server.state.findProject(id)!.files.get("two.txt")!.versions).toHaveLength(1);
    });

    await t.step("deleting a whole file; unknown files are 404 api_error", async () => {
      expect((await del("two.txt")).status).toBe(204);
      expect(server.state.findProject(id)!.files.has("two.txt")).toBe(false);
      expect(await del("two.txt")).toEqual({
        status: 404,
        body: { code: "api_error", message: "API Error" },
      });
    });

    await t.step("readers and reporters may not delete", async () => {
      server.addCollaborator(id, "bob", "reporter");
      const res = await fetch(`${server.url}files/${id}/one.txt/`, {
        method: "DELETE",
        headers: { Authorization: `Token ${server.createToken("bob", "cli|t")}` },
      });
      expect(res.status).toBe(403);
      await res.body?.cancel();
    });
  });
});

Deno.test("test server files: a large upload streams to storageDir", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withProject(async (server, headers, id) => {
      const size = 256 * 1024 * 1024;
      const boundary = "----qfc-test-boundary";
      const head = new TextEncoder().encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n`,
      );
      const tail = new TextEncoder().encode(`\r\n--${boundary}--\r\n`);
      const chunk = new Uint8Array(1024 * 1024).fill(120);
      let sent = 0;
      let stage = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (stage === 0) {
            c.enqueue(head);
            stage = 1;
          } else if (stage === 1) {
            c.enqueue(chunk);
            sent += chunk.byteLength;
            if (sent >= size) stage = 2;
          } else {
            c.enqueue(tail);
            c.close();
          }
        },
      });
      const before = Deno.memoryUsage().rss;
      const res = await fetch(`${server.url}files/${id}/big.bin/`, {
        method: "POST",
        headers: { ...headers, "content-type": `multipart/form-data; boundary=${boundary}` },
        body,
      });
      expect(res.status).toBe(201);
      await res.body?.cancel();
      const grown = Deno.memoryUsage().rss - before;
      // The upload went to disk, not to memory (held in memory, RSS would grow by > size).
      expect(grown).toBeLessThan(size * 0.75);
      const blobs = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".blob"));
      expect(blobs).toHaveLength(1);
      expect(Deno.statSync(`${dir}/${blobs[0].name}`).size).toBe(size);
      const item = await (await fetch(`${server.url}files/metadata/${id}/big.bin/`, { headers }))
        .json();
      expect(item.size).toBe(size);
      expect(item.md5sum).toMatch(/^[0-9a-f]{32}-32$/);
      const ranged = await fetch(`${server.url}files/${id}/big.bin/`, {
        headers: { ...headers, Range: `bytes=${size - 3}-` },
      });
      expect(await ranged.text()).toBe("xxx");
    }, { storageDir: dir });
    // close() removed the blobs it wrote and left the directory it did not create.
    expect([...Deno.readDirSync(dir)]).toEqual([]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
