// Tests of the test server's streaming multipart parser and serve.ts flags.
import { expect } from "expect";
import { multipartBoundary, MultipartError, parseMultipart } from "../testing/multipart.ts";
import { parseServeArgs, ServeArgsError } from "../testing/serve.ts";
import { startTestServer } from "../testing/mod.ts";

function streamOf(bytes: Uint8Array, chunkSize: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(c) {
      if (offset >= bytes.byteLength) return c.close();
      c.enqueue(bytes.slice(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

async function collect(body: Uint8Array, boundary: string, chunkSize: number) {
  const parts: { name: string; filename?: string; text: string; type: string | null }[] = [];
  for await (const part of parseMultipart(streamOf(body, chunkSize), boundary)) {
    parts.push({
      name: part.name,
      filename: part.filename,
      text: await new Response(part.body).text(),
      type: part.headers.get("content-type") ?? null,
    });
  }
  return parts;
}

Deno.test("parseMultipart() reads every part whatever the chunk boundaries", async () => {
  const form = new FormData();
  form.append("field", "välue");
  form.append(
    "file",
    new Blob(["line1\r\n--not-a-boundary\r\nline2"], { type: "text/plain" }),
    "a b.txt",
  );
  form.append("empty", new Blob([]), "e.bin");
  const request = new Request("http://x/", { method: "POST", body: form });
  const boundary = multipartBoundary(request.headers.get("content-type"))!;
  const body = new Uint8Array(await request.arrayBuffer());
  const expected = [
    { name: "field", filename: undefined, text: "välue", type: null },
    {
      name: "file",
      filename: "a b.txt",
      text: "line1\r\n--not-a-boundary\r\nline2",
      type: "text/plain",
    },
    { name: "empty", filename: "e.bin", text: "", type: "application/octet-stream" },
  ];
  for (const size of [1, 2, 3, 7, 64, body.byteLength]) {
    expect(await collect(body, boundary, size)).toEqual(expected);
  }
});

Deno.test("parseMultipart() skips unread parts, preambles and reads filename*", async () => {
  const text = 'preamble\r\n--b\r\nContent-Disposition: form-data; name="file"; ' +
    "filename*=UTF-8''%C3%A4.txt\r\n\r\nfirst\r\n--b\r\n" +
    'Content-Disposition: form-data; name="file"; filename="x"\r\n\r\nsecond\r\n--b--\r\n';
  const names: (string | undefined)[] = [];
  for await (const part of parseMultipart(streamOf(new TextEncoder().encode(text), 5), "b")) {
    names.push(part.filename); // bodies left unread
  }
  expect(names).toEqual(["ä.txt", "x"]);
});

Deno.test("parseMultipart() reads part headers as Django does", async () => {
  const parts: [string, string][] = [
    // Raw UTF-8 above U+00FF (a Headers object would refuse it).
    ['form-data; name="file"; filename="写真 Ωmega.jpg"', "写真 Ωmega.jpg"],
    // Whichever of filename and filename* comes last wins.
    [
      'form-data; name="file"; filename="plain.txt"; filename*=UTF-8\'\'%C5%81%C3%B3d%C5%BA.txt',
      "Łódź.txt",
    ],
    ['form-data; name="file"; filename*=UTF-8\'\'a.txt; filename="Plzeň.pdf"', "Plzeň.pdf"],
    ["form-data; name=\"file\"; filename*=iso-8859-1'en'%E9t%E9.txt", "été.txt"],
    ['form-data; name="file"; filename="say \\"hi\\".txt"', 'say "hi".txt'],
  ];
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const [disposition] of parts) {
    chunks.push(encoder.encode(`--b\r\nContent-Disposition: ${disposition}\r\n\r\nx\r\n`));
  }
  // A header line that is not UTF-8 is skipped, so this part has no file name.
  chunks.push(encoder.encode('--b\r\nContent-Disposition: form-data; name="file"; filename="'));
  chunks.push(new Uint8Array([0xff, 0xfe]), encoder.encode('"\r\n\r\nx\r\n--b--\r\n'));
  const body = new Uint8Array(chunks.flatMap((c) => [...c]));
  const names: (string | undefined)[] = [];
  for await (const part of parseMultipart(streamOf(body, 7), "b")) names.push(part.filename);
  expect(names).toEqual([...parts.map(([, name]) => name), undefined]);
});

Deno.test("parseMultipart() rejects a body that ends inside a part", async () => {
  const text = '--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nunterminated';
  await expect((async () => {
    for await (const part of parseMultipart(streamOf(new TextEncoder().encode(text), 4), "b")) {
      await new Response(part.body).text();
    }
  })()).rejects.toThrow(MultipartError);
});

Deno.test("multipartBoundary() only accepts multipart/form-data", () => {
  expect(multipartBoundary('multipart/form-data; charset=x; boundary="a b"')).toBe("a b");
  expect(multipartBoundary("multipart/mixed; boundary=x")).toBeUndefined();
  expect(multipartBoundary("application/json")).toBeUndefined();
  expect(multipartBoundary(null)).toBeUndefined();
});

Deno.test("parseServeArgs() reads repeatable flags and refuses bad ones", () => {
  const cmd = parseServeArgs([
    "--",
    "--port",
    "8123",
    "--user",
    "alice:pa:ss",
    "--user=bob:pw",
    "--org",
    "acme:alice",
    "--job-seconds",
    "0.5",
    "--storage",
    "/tmp/x",
  ]);
  expect(cmd).toEqual({
    kind: "run",
    options: {
      port: 8123,
      users: [{ username: "alice", password: "pa:ss" }, { username: "bob", password: "pw" }],
      organizations: [{ name: "acme", owner: "alice" }],
      jobSeconds: 0.5,
      storageDir: "/tmp/x",
      // A server in a process of its own keeps no request log: nobody could read it.
      logRequests: false,
    },
  });
  expect(parseServeArgs(["--latency-ms", "30"])).toMatchObject({ options: { latencyMs: 30 } });
  expect(parseServeArgs(["--help"])).toEqual({ kind: "help" });
  for (
    const bad of [
      ["--bogus"],
      ["--port", "x"],
      ["--latency-ms", "-1"],
      ["--port"],
      ["--user", "nopassword"],
      ["--org", "acme:nobody"],
      ["stray"],
    ]
  ) {
    expect(() => parseServeArgs(bad)).toThrow(ServeArgsError);
  }
  // A malformed --user value is not echoed (it may hold a password).
  expect(() => parseServeArgs(["--user", "secret"])).toThrow(/^(?!.*secret)/);
  // A negative number is the flag's value, refused as such.
  expect(() => parseServeArgs(["--latency-ms", "-5"])).toThrow(
    'Invalid value "-5" for --latency-ms: expected a non-negative number',
  );
  expect(() => parseServeArgs(["--port", "-1", "--quota", "-0.5"])).toThrow(
    'Invalid value "-1" for --port',
  );
});

Deno.test("startTestServer() refuses a negative latency, naming it", async () => {
  await expect(startTestServer({ latencyMs: -1 })).rejects.toThrow(
    new RangeError("Cannot use latencyMs -1: it must be a non-negative number"),
  );
});

Deno.test("serve.ts prints the URL first, serves, and stops on SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../testing/serve.ts", import.meta.url).pathname,
      "--",
      "--user",
      "alice:pw",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("user alice\n")) {
    const r = await reader.read();
    if (r.done) break;
    out += r.value;
  }
  const [first, second] = out.split("\n");
  expect(first).toMatch(/^QFIELDCLOUD_URL=http:\/\/127\.0\.0\.1:\d+\/api\/v1\/$/);
  expect(second).toBe("user alice");
  expect(out).not.toContain("pw");
  const url = first.slice("QFIELDCLOUD_URL=".length);
  const res = await fetch(`${url}auth/login/`, {
    method: "POST",
    body: new URLSearchParams({ username: "alice", password: "pw" }),
  });
  expect(res.status).toBe(200);
  await res.body?.cancel();
  child.kill("SIGTERM");
  const status = await child.status;
  await reader.cancel();
  await child.stderr.cancel();
  expect(status.code).toBe(0);
});

Deno.test("serve.ts exits 2 with one error line on a bad flag", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../testing/serve.ts", import.meta.url).pathname, "--nope"],
  }).output();
  expect(out.code).toBe(2);
  expect(new TextDecoder().decode(out.stderr)).toBe('error: Unknown option "--nope"\n');
  expect(out.stdout.byteLength).toBe(0);
});
