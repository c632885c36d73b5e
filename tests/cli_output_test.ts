/**
 * Unit tests of the CLI's pure parts: output formatting, progress rendering,
 * error reports, exit codes, option parsing, credentials and completions.
 */

import { expect } from "expect";
import { Command } from "@commander-js/extra-typings";
import {
  QfcJobFailedException,
  QfcRequestException,
  QfcTimeoutException,
  RequestCore,
} from "../mod.ts";
import { CliContext } from "../src/cli/context.ts";
import { configDir, credentialKey, CredentialStore } from "../src/cli/credentials.ts";
import { generateCompletions, specFromCommand } from "../src/cli/completions.ts";
import { CliError, CliUsageError, describeError, formatErrorLine } from "../src/cli/errors.ts";
import { ExitCode, exitCodeForStatus } from "../src/cli/exit_codes.ts";
import { denoIo } from "../src/cli/io.ts";
import {
  flagPair,
  integerParser,
  parseBoolean,
  parseSeconds,
  resolveGlobals,
} from "../src/cli/options.ts";
import { formatBytes, formatTable, Output, stableJson } from "../src/cli/output.ts";
import { cutToWidth, ProgressDisplay, renderProgress, visibleWidth } from "../src/cli/progress.ts";
import { createProgram } from "../src/cli/program.ts";
import type { CliIo } from "../src/cli/io.ts";

function sink() {
  const sink = {
    text: "",
    isTerminal: false,
    columns: 60,
    write: (t: string) => void (sink.text += t),
  };
  return sink;
}

Deno.test("output formatting", async (t) => {
  await t.step("stableJson() sorts keys at every level and drops undefined", () => {
    expect(stableJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe(
      '{\n  "a": {\n    "d": [\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}',
    );
  });

  await t.step("formatTable() pads columns, right-aligns numbers, keeps cells on one line", () => {
    const text = formatTable([{ n: "a\nb", s: 10 }, { n: "long name", s: 2 }], [
      { header: "NAME", value: (r) => r.n },
      { header: "SIZE", value: (r) => String(r.s), right: true },
    ]);
    expect(text).toBe("NAME       SIZE\na b          10\nlong name     2\n");
  });

  await t.step("formatTable() pads by visible width: CJK and emoji take two columns", () => {
    const rows = [
      { n: "東京.gpkg", s: "1 B" },
      { n: "🌲trees.gpkg", s: "22 B" },
      { n: "plain.txt", s: "333 B" },
    ];
    const text = formatTable(rows, [
      { header: "NAME", value: (r) => r.n },
      { header: "SIZE", value: (r) => r.s, right: true },
    ]);
    expect(text).toBe(
      "NAME           SIZE\n東京.gpkg       1 B\n🌲trees.gpkg   22 B\nplain.txt     333 B\n",
    );
    // Every SIZE column ends in the same terminal column.
    const ends = text.trimEnd().split("\n").map((line) => visibleWidth(line));
    expect(new Set(ends).size).toBe(1);
  });

  await t.step("formatBytes() uses binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(10 * 1024 * 1024)).toBe("10.0 MiB");
    expect(formatBytes(200 * 1024 ** 3)).toBe("200 GiB");
  });

  await t.step("Output redacts registered secrets everywhere but the deliberate token line", () => {
    const out = sink();
    const err = sink();
    const output = new Output(out, err, { json: false, color: false });
    output.addSecret("s3cr3t-token");
    output.line("token=s3cr3t-token");
    output.notice("again s3cr3t-token");
    output.error("error: s3cr3t-token leaked");
    output.secretLine("export QFIELDCLOUD_TOKEN=s3cr3t-token");
    expect(out.text).toBe("token=***\nexport QFIELDCLOUD_TOKEN=s3cr3t-token\n");
    expect(err.text).toBe("again ***\nerror: *** leaked\n");
  });

  await t.step("Output in JSON mode prints one document and no human lines", () => {
    const out = sink();
    const output = new Output(out, sink(), { json: true, color: false });
    output.line("ignored");
    output.table([1], [{ header: "X", value: String }]);
    output.result({ a: 1 }, () => output.line("human"));
    expect(JSON.parse(out.text)).toEqual({ a: 1 });
    expect(() => output.printJson({})).toThrow("already printed");
  });

  await t.step("Output colors the error label only with color on", () => {
    const err = sink();
    new Output(sink(), err, { json: false, color: true }).error("error: boom");
    expect(err.text).toBe("\x1b[31merror\x1b[0m: boom\n");
  });
});

Deno.test("progress rendering", async (t) => {
  const snapshot = {
    verb: "Uploading",
    doneFiles: 1,
    totalFiles: 3,
    bytes: 1024 * 1024,
    totalBytes: 4 * 1024 * 1024,
    elapsedMs: 2000,
    active: [
      { name: "data/points.gpkg", bytes: 512 * 1024, total: 2 * 1024 * 1024 },
      { name: "DCIM/photo.jpg", bytes: 0, total: undefined },
    ],
  };

  await t.step("renderProgress() shows totals, a bar, percent, rate and one line per file", () => {
    expect(renderProgress(snapshot, { width: 100, color: false })).toEqual([
      "Uploading 1/3 files  1.0 MiB / 4.0 MiB  [#####---------------]  25%  512 KiB/s",
      "  data/points.gpkg  512 KiB / 2.0 MiB  25%",
      "  DCIM/photo.jpg  0 B",
    ]);
  });

  await t.step("renderProgress() cuts long lines to the width and shortens names", () => {
    const lines = renderProgress(
      { ...snapshot, active: [{ name: "a/".repeat(40) + "file.txt", bytes: 1, total: 2 }] },
      { width: 40, color: false },
    );
    expect(lines[0]).toBe("Uploading 1/3 files  25%");
    expect(lines[1]).toBe("  …/a/a/a/a/a/a/file.txt  1 B / 2 B  50%");
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(40);
  });

  await t.step("visibleWidth() skips escapes and counts East Asian wide characters twice", () => {
    expect(visibleWidth("\x1b[32m##\x1b[2m--\x1b[0m")).toBe(4);
    expect(visibleWidth("写真.jpg")).toBe(8);
    expect(visibleWidth("Łódź.txt")).toBe(8);
    expect(cutToWidth("写真写真.jpg", 6)).toBe("写真…");
    expect(cutToWidth("写真写真.jpg", 7)).toBe("写真写…");
    expect(cutToWidth("\x1b[32mabcdef\x1b[0m", 4)).toBe("\x1b[32mabc…\x1b[0m");
  });

  const wide = {
    verb: "Downloading",
    doneFiles: 12,
    totalFiles: 140,
    bytes: 123_456_789,
    totalBytes: 987_654_321,
    elapsedMs: 3000,
    active: [
      { name: "写真/東京タワー夜景_2026年12月.jpg", bytes: 1000, total: 200_000 },
      {
        name: "data/a-very-long-folder-name/and-a-sub-folder/Łódź points.gpkg",
        bytes: 5,
        total: 9,
      },
      { name: "DCIM/😀 photo.jpg", bytes: 0 },
    ],
  };
  // deno-lint-ignore no-control-regex -- removing color escapes
  const strip = (line: string) => line.replace(/\x1b\[[0-9;]*m/g, "");
  for (const width of [40, 60, 80, 120]) {
    await t.step(`renderProgress() fits ${width} columns, with and without color`, () => {
      const plain = renderProgress(wide, { width, color: false });
      const colored = renderProgress(wide, { width, color: true });
      expect(colored.map(strip)).toEqual(plain);
      for (const line of [...plain, ...colored]) {
        expect([line, visibleWidth(line) <= width]).toEqual([line, true]);
      }
      expect(plain[0].startsWith("Downloading 12/140 files  ")).toBe(true);
      expect(plain[0]).toContain("12%");
      expect(plain[1].endsWith("年12月.jpg  1000 B / 195 KiB  0%")).toBe(true);
      expect(plain[3].endsWith(" photo.jpg  0 B")).toBe(true);
      if (width >= 80) expect(plain[0]).toContain("[##");
    });
  }

  await t.step("renderProgress() colors the bar only with color on", () => {
    const [line] = renderProgress(snapshot, { width: 200, color: true });
    expect(line).toContain("[\x1b[32m#####\x1b[2m---------------\x1b[0m]");
  });

  await t.step("renderProgress() lists at most maxFileLines files", () => {
    const active = Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, bytes: 0, total: 1 }));
    const lines = renderProgress({ ...snapshot, active }, {
      width: 80,
      color: false,
      maxFileLines: 2,
    });
    expect(lines.slice(1)).toEqual([
      "  f0  0 B / 1 B  0%",
      "  f1  0 B / 1 B  0%",
      "  … and 3 more",
    ]);
  });

  const event = (type: "plan" | "file-start" | "file-bytes" | "file-end", name?: string) => ({
    type,
    operation: "upload" as const,
    name,
    fileBytes: 5,
    fileSize: 10,
    totalBytes: type === "plan" ? 0 : 5,
    totalSize: 20,
    filesDone: type === "file-end" ? 1 : 0,
    filesTotal: 2,
  });

  await t.step("ProgressDisplay draws in place on a terminal and erases at the end", () => {
    const out = { ...sink(), columns: 120 };
    out.write = (t: string) => void (out.text += t);
    let now = 0;
    const display = new ProgressDisplay({
      sink: out,
      verb: "Uploading",
      live: true,
      color: false,
      now: () => now,
    });
    display.update(event("plan"));
    now = 50;
    display.update(event("file-start", "a.txt")); // within the interval: not drawn
    now = 1000;
    display.update(event("file-bytes", "a.txt"));
    expect(display.snapshot().active).toEqual([{ name: "a.txt", bytes: 5, total: 10 }]);
    display.update(event("file-end", "a.txt"));
    expect(display.snapshot().active).toEqual([]);
    display.finish();
    expect(out.text).toBe(
      "Uploading 0/2 files  0 B / 20 B  [--------------------]  0%  0 B/s\n" +
        "\r\x1b[1A\x1b[0JUploading 0/2 files  5 B / 20 B  [#####---------------]  25%  5 B/s\n" +
        "  a.txt  5 B / 10 B  50%\n" +
        "\r\x1b[2A\x1b[0J",
    );
  });

  await t.step("ProgressDisplay writes nothing when not live", () => {
    const out = sink();
    const display = new ProgressDisplay({
      sink: out,
      verb: "Uploading",
      live: false,
      color: false,
    });
    display.update(event("file-start", "a.txt"));
    display.finish();
    expect(out.text).toBe("");
    expect(display.snapshot().totalFiles).toBe(2);
  });
});

Deno.test("error reports and exit codes", async (t) => {
  const request = (init: Partial<ConstructorParameters<typeof QfcRequestException>[0]>) =>
    new QfcRequestException({
      method: "GET",
      url: "http://127.0.0.1/api/v1/projects/x/?a=1",
      ...init,
    });

  await t.step("exitCodeForStatus() maps HTTP statuses", () => {
    expect(exitCodeForStatus(undefined)).toBe(ExitCode.NETWORK);
    expect(exitCodeForStatus(400)).toBe(ExitCode.REJECTED);
    expect(exitCodeForStatus(401)).toBe(ExitCode.AUTH);
    expect(exitCodeForStatus(402)).toBe(ExitCode.QUOTA);
    expect(exitCodeForStatus(403)).toBe(ExitCode.PERMISSION);
    expect(exitCodeForStatus(404)).toBe(ExitCode.NOT_FOUND);
    expect(exitCodeForStatus(408)).toBe(ExitCode.TIMEOUT);
    expect(exitCodeForStatus(416)).toBe(ExitCode.REJECTED);
    expect(exitCodeForStatus(502)).toBe(ExitCode.SERVER);
  });

  await t.step("a server error names message, code, status, request and a hint", () => {
    const report = describeError(
      request({
        status: 401,
        code: "token_authentication_failed",
        serverMessage: "Token authentication failed",
      }),
    );
    expect(report.exitCode).toBe(ExitCode.AUTH);
    expect(formatErrorLine(report)).toBe(
      "error: Token authentication failed (token_authentication_failed, HTTP 401) on GET " +
        '/api/v1/projects/x/?a=1. The token is unknown or has expired: log in with "qfieldcloud-cli ' +
        'login USERNAME", or pass -t/--token or set QFIELDCLOUD_TOKEN',
    );
    expect(report.json).toEqual({
      message: report.message,
      exit_code: 3,
      hint: report.hint,
      status: 401,
      code: "token_authentication_failed",
      server_message: "Token authentication failed",
      method: "GET",
      url: "http://127.0.0.1/api/v1/projects/x/?a=1",
    });
  });

  await t.step("an HTML 404 page hints at the URL", () => {
    const report = describeError(request({ status: 404, serverMessage: "Not Found" }));
    expect(report.exitCode).toBe(ExitCode.NOT_FOUND);
    expect(report.hint).toContain("/api/v1/");
  });

  await t.step("a TLS failure hints at --ca-cert and --no-verify-ssl", () => {
    const cause = new TypeError("invalid peer certificate: UnknownIssuer");
    const report = describeError(request({ cause }));
    expect(report.exitCode).toBe(ExitCode.NETWORK);
    expect(report.message).toContain("got no response: invalid peer certificate");
    expect(report.hint).toContain("--ca-cert");
  });

  await t.step("a timed-out request exits 10", () => {
    const cause = new DOMException("Signal timed out.", "TimeoutError");
    expect(describeError(request({ cause })).exitCode).toBe(ExitCode.TIMEOUT);
  });

  await t.step("job failures, waits, usage and CLI errors have their codes", () => {
    const job = { id: "j1", status: "failed", type: "package", feedback: null, output: null };
    expect(describeError(new QfcJobFailedException(job)).exitCode).toBe(ExitCode.JOB_FAILED);
    expect(describeError(new QfcTimeoutException("slow")).exitCode).toBe(ExitCode.TIMEOUT);
    expect(describeError(new CliUsageError("bad")).exitCode).toBe(ExitCode.USAGE);
    expect(describeError(new CliError("2 failed", ExitCode.PARTIAL)).exitCode).toBe(
      ExitCode.PARTIAL,
    );
    expect(describeError(new Error("first\nsecond")).message).toBe("first");
    expect(describeError("weird").exitCode).toBe(ExitCode.FAILURE);
  });

  await t.step(
    "a bad argument the library refuses is one line and exit 1, like any failure",
    () => {
      let refused: unknown;
      try {
        new RequestCore({ url: "https://user:secret@example.org/" });
      } catch (error) {
        refused = error;
      }
      expect(refused).toBeInstanceOf(TypeError);
      const report = describeError(refused);
      expect(report.exitCode).toBe(ExitCode.FAILURE);
      expect(formatErrorLine(report)).toBe(
        'error: Cannot use the server URL "https://example.org/" with a user name or password in ' +
          "it: log in with login() or pass a token",
      );
      const range = describeError(
        new RangeError('Cannot use limit "0": it must be a positive integer'),
      );
      expect(range.exitCode).toBe(ExitCode.FAILURE);
      expect(range.message).toBe('Cannot use limit "0": it must be a positive integer');
    },
  );
});

Deno.test("option parsing", async (t) => {
  await t.step("parseBoolean() reads click's words and rejects others", () => {
    for (const word of ["0", "false", "No", "off", "F", "n"]) {
      expect(parseBoolean("X", word)).toBe(false);
    }
    for (const word of ["1", "true", "YES", "on", "t", "y"]) {
      expect(parseBoolean("X", word)).toBe(true);
    }
    expect(() => parseBoolean("QFIELDCLOUD_VERIFY_SSL", "maybe")).toThrow(
      'Invalid value "maybe" for QFIELDCLOUD_VERIFY_SSL',
    );
  });

  await t.step("integerParser() accepts whole numbers above the minimum", () => {
    expect(integerParser(1)("20")).toBe(20);
    expect(() => integerParser(1)("0")).toThrow("at least 1");
    expect(() => integerParser(0)("1.5")).toThrow('got "1.5"');
    expect(() => integerParser(0)("abc")).toThrow('got "abc"');
  });

  await t.step("option messages end with the value at fault, without a period", () => {
    expect(() => integerParser(0)("abc")).toThrow(/got "abc"$/);
    expect(() => parseSeconds("soon")).toThrow(/got "soon"$/);
  });

  await t.step("flagPair() lets the last flag win", () => {
    const command = new Command("x").exitOverride();
    const value = flagPair(command, "--include-public", "--no-public", "a", "b");
    command.parse(["--no-public", "--include-public", "--no-public"], { from: "user" });
    expect(value()).toBe(false);
    const other = new Command("y").exitOverride();
    const unset = flagPair(other, "--is-public", "--is-private", "a", "b");
    other.parse([], { from: "user" });
    expect(unset()).toBe(undefined);
  });

  const io = (env: Record<string, string>) => ({ ...denoIo(), env: (n: string) => env[n] });

  await t.step("resolveGlobals(): command line beats environment beats defaults", () => {
    const defaults = resolveGlobals({}, undefined, io({}));
    expect(defaults.url).toBe("https://app.qfield.cloud/api/v1/");
    expect(defaults.verifySsl).toBe(true);
    expect(defaults.json).toBe(false);
    expect(defaults.connectTimeout).toBe(10);
    expect(defaults.readTimeout).toBe(300);
    const env = io({
      QFIELDCLOUD_API: "http://api.example/api/v1/",
      QFIELDCLOUD_TOKEN: "envtoken",
      QFIELDCLOUD_VERIFY_SSL: "0",
      QFC_SDK_READ_TIMEOUT_S: "5",
    });
    const fromEnv = resolveGlobals({}, "json", env);
    expect(fromEnv.url).toBe("http://api.example/api/v1/");
    expect(fromEnv.token).toBe("envtoken");
    expect(fromEnv.verifySsl).toBe(false);
    expect(fromEnv.readTimeout).toBe(5);
    expect(fromEnv.json).toBe(true);
    const both = resolveGlobals(
      { url: "http://cli.example/api/v1/", token: "clitoken", verifySsl: true },
      "human",
      io({ QFIELDCLOUD_URL: "http://env.example/api/v1/", QFIELDCLOUD_VERIFY_SSL: "0" }),
    );
    expect(both.url).toBe("http://cli.example/api/v1/");
    expect(both.token).toBe("clitoken");
    expect(both.verifySsl).toBe(true);
    expect(() => resolveGlobals({ url: "ftp://x" }, undefined, io({}))).toThrow(
      'Invalid URL "ftp://x"',
    );
  });

  await t.step("CliContext.timeoutMs adds connect and read timeouts; 0 disables", () => {
    const ctx = new CliContext(io({}) as CliIo);
    ctx.setGlobals(resolveGlobals({ connectTimeout: 2, readTimeout: 3 }, undefined, io({})));
    expect(ctx.timeoutMs).toBe(5000);
    ctx.setGlobals(resolveGlobals({ connectTimeout: 0 }, undefined, io({})));
    expect(ctx.timeoutMs).toBe(0);
  });
});

Deno.test("credentials file", async (t) => {
  await t.step("configDir() follows each platform's convention and the override", () => {
    const env = (vars: Record<string, string>) => (n: string) => vars[n];
    expect(configDir({ env: env({}), os: "linux", home: "/home/ada" })).toBe(
      "/home/ada/.config/qfieldcloud",
    );
    expect(configDir({ env: env({ XDG_CONFIG_HOME: "/xdg" }), os: "linux", home: "/h" })).toBe(
      "/xdg/qfieldcloud",
    );
    expect(configDir({ env: env({}), os: "darwin", home: "/Users/ada" })).toBe(
      "/Users/ada/Library/Application Support/qfieldcloud",
    );
    expect(
      configDir({ env: env({ APPDATA: "C:/Users/ada/AppData/Roaming" }), os: "windows" }),
    ).toContain("qfieldcloud");
    expect(configDir({ env: env({ QFIELDCLOUD_CONFIG_DIR: "/tmp/x" }), os: "linux" })).toBe(
      "/tmp/x",
    );
  });

  await t.step("credentialKey() normalizes URLs", () => {
    expect(credentialKey("https://user:pw@app.qfield.cloud/api/v1?x=1")).toBe(
      "https://app.qfield.cloud/api/v1/",
    );
  });

  await t.step(
    "the store saves per URL with mode 0600, forgets expired tokens, removes",
    async () => {
      const dir = await Deno.makeTempDir();
      try {
        const store = new CredentialStore(`${dir}/sub/credentials.json`);
        expect(await store.get("http://a/api/v1/")).toBe(undefined);
        await store.save({
          url: "http://a/api/v1",
          token: "ta",
          username: "ada",
          expires_at: null,
        });
        await store.save({
          url: "http://b/api/v1/",
          token: "tb",
          username: "bob",
          expires_at: "2000-01-01T00:00:00Z",
        });
        expect((await store.get("http://a/api/v1/"))?.token).toBe("ta");
        expect(await store.get("http://b/api/v1/")).toBe(undefined); // expired
        if (Deno.build.os !== "windows") {
          expect((await Deno.stat(store.path)).mode! & 0o777).toBe(0o600);
        }
        expect(await store.remove("http://a/api/v1/")).toBe(true);
        expect(await store.remove("http://a/api/v1/")).toBe(false);
        expect(await store.get("http://a/api/v1/")).toBe(undefined);
        await Deno.writeTextFile(store.path, "{ not json");
        expect(await store.get("http://a/api/v1/")).toBe(undefined);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
});

Deno.test("shell completions", async (t) => {
  const program = createProgram(new CliContext(denoIo()));
  const spec = specFromCommand(program);
  const commands = spec.commands.map((c) => c.name);

  await t.step("the spec holds every command with its options and choices", () => {
    expect(commands).toContain("upload-files");
    expect(commands).not.toContain("help");
    const trigger = spec.commands.find((c) => c.name === "job-trigger")!;
    expect(trigger.arguments[1].choices).toEqual(["package", "delta_apply", "process_projectfile"]);
    expect(spec.globalOptions.find((o) => o.flags.includes("--ca-cert"))?.path).toBe("file");
  });

  for (const shell of ["bash", "zsh", "fish"] as const) {
    await t.step(`${shell} script names every command`, () => {
      const script = generateCompletions(shell, spec);
      for (const name of commands) expect(script).toContain(name);
      expect(script).toContain(shell === "fish" ? "-l force-download" : "--force-download");
      expect(script).toContain("delta_apply");
    });
  }

  await t.step("the bash script is valid bash and completes commands and options", async () => {
    const script = generateCompletions("bash", spec);
    const probe = `${script}
COMP_WORDS=(qfieldcloud-cli list-pro); COMP_CWORD=1; _qfieldcloud_cli; echo "1:\${COMPREPLY[*]}"
COMP_WORDS=(qfieldcloud-cli --json job-trigger P ""); COMP_CWORD=4; _qfieldcloud_cli; echo "2:\${COMPREPLY[*]}"
COMP_WORDS=(qfieldcloud-cli list-jobs --ty); COMP_CWORD=2; _qfieldcloud_cli; echo "3:\${COMPREPLY[*]}"
COMP_WORDS=(qfieldcloud-cli list-jobs --type p); COMP_CWORD=3; _qfieldcloud_cli; echo "4:\${COMPREPLY[*]}"
`;
    const output = await new Deno.Command("bash", { args: ["-c", probe], stdout: "piped" })
      .output();
    expect(output.code).toBe(0);
    expect(new TextDecoder().decode(output.stdout)).toBe(
      "1:list-projects\n2:package delta_apply process_projectfile\n3:--type\n4:package process_projectfile\n",
    );
  });
});

async function shellAvailable(shell: string): Promise<boolean> {
  try {
    return (await new Deno.Command(shell, { args: ["-c", "exit 0"] }).output()).success;
  } catch {
    return false;
  }
}

for (const shell of ["zsh", "fish"] as const) {
  Deno.test({
    name: `the ${shell} completion script parses and completes (when ${shell} is installed)`,
    ignore: !(await shellAvailable(shell)),
    async fn() {
      const spec = specFromCommand(createProgram(new CliContext(denoIo())));
      const dir = await Deno.makeTempDir();
      try {
        const file = `${dir}/${shell === "zsh" ? "_qfieldcloud-cli" : "q.fish"}`;
        await Deno.writeTextFile(file, generateCompletions(shell, spec));
        const syntax = await new Deno.Command(shell, { args: ["-n", file], stderr: "piped" })
          .output();
        expect(new TextDecoder().decode(syntax.stderr)).toBe("");
        expect(syntax.success).toBe(true);
        if (shell === "fish") {
          const probe = await new Deno.Command("fish", {
            args: ["-c", `source ${file}; complete -C "qfieldcloud-cli job-trigger x "`],
            stdout: "piped",
          }).output();
          expect(new TextDecoder().decode(probe.stdout).split("\n").sort().join(" ").trim())
            .toBe("delta_apply package process_projectfile");
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
