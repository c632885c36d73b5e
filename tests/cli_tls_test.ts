/**
 * --no-verify-ssl, QFIELDCLOUD_VERIFY_SSL=0 and --ca-cert against the test
 * server over HTTPS, with a throwaway CA and certificate made by openssl.
 */

import { expect } from "expect";
import { startTestServer } from "../testing/mod.ts";
import { ExitCode } from "../src/cli/exit_codes.ts";
import { runCli, runCliProcess, USERS } from "./cli_harness.ts";
import { makeQgs } from "./fixtures/qgis_project.ts";

async function hasOpenssl(): Promise<boolean> {
  try {
    const output = await new Deno.Command("openssl", { args: ["version"], stdout: "null" })
      .output();
    return output.success;
  } catch {
    return false;
  }
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", { args, cwd: dir, stderr: "piped" }).output();
  if (!output.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/** A CA and a certificate for 127.0.0.1 signed by it, valid for a day. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  await openssl(
    dir,
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=qfieldcloud-cli test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  await openssl(
    dir,
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  );
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "1",
    "-extfile",
    "ext.cnf",
  );
  return {
    ca: `${dir}/ca.pem`,
    cert: await Deno.readTextFile(`${dir}/server.pem`),
    key: await Deno.readTextFile(`${dir}/server.key`),
  };
}

Deno.test({
  name: "TLS: --no-verify-ssl, QFIELDCLOUD_VERIFY_SSL=0 and --ca-cert",
  ignore: !(await hasOpenssl()),
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "qfc_cli_tls_" });
    try {
      const { ca, cert, key } = await makeCertificates(dir);
      await using server = await startTestServer({ users: USERS, tls: { cert, key }, quiet: true });
      expect(server.url.startsWith("https://127.0.0.1:")).toBe(true);
      const token = server.createToken("alice", "sdk|ts|test");
      const env = {
        QFIELDCLOUD_URL: server.url,
        QFIELDCLOUD_TOKEN: token,
        QFIELDCLOUD_CONFIG_DIR: `${dir}/config`,
      };

      await t.step("an untrusted certificate fails with exit 11 and a hint", async () => {
        const run = await runCli(["status"], { env });
        expect(run.code).toBe(ExitCode.NETWORK);
        expect(run.stderr).toContain("--ca-cert");
        expect(run.stderr).toContain("--no-verify-ssl");
      });

      await t.step("--no-verify-ssl connects", async () => {
        const run = await runCli(["--no-verify-ssl", "--json", "status"], { env });
        expect(run.code).toBe(0);
        expect(JSON.parse(run.stdout).database).toBe("ok");
      });

      await t.step("QFIELDCLOUD_VERIFY_SSL=0 connects; --verify-ssl overrides it", async () => {
        const off = await runCli(["status"], { env: { ...env, QFIELDCLOUD_VERIFY_SSL: "0" } });
        expect(off.code).toBe(0);
        const on = await runCli(["--verify-ssl", "status"], {
          env: { ...env, QFIELDCLOUD_VERIFY_SSL: "0" },
        });
        expect(on.code).toBe(ExitCode.NETWORK);
        const bad = await runCli(["status"], {
          env: { ...env, QFIELDCLOUD_VERIFY_SSL: "perhaps" },
        });
        expect(bad.code).toBe(ExitCode.USAGE);
      });

      await t.step("--ca-cert and QFIELDCLOUD_CA_CERT trust the private CA", async () => {
        const flag = await runCli(["--ca-cert", ca, "status"], { env });
        expect(flag.code).toBe(0);
        const fromEnv = await runCli(["list-projects"], {
          env: { ...env, QFIELDCLOUD_CA_CERT: ca },
        });
        expect(fromEnv.code).toBe(0);
        const missing = await runCli(["--ca-cert", `${dir}/nope.pem`, "status"], { env });
        expect(missing.code).toBe(ExitCode.USAGE);
        expect(missing.stderr).toContain("Cannot read the CA certificate");
        const notPem = await runCli(["--ca-cert", `${dir}/ext.cnf`, "status"], { env });
        expect(notPem.code).toBe(ExitCode.USAGE);
      });

      await t.step("login, upload and download stream through the insecure adapter", async () => {
        const local = `${dir}/project`;
        await Deno.mkdir(`${local}/DCIM`, { recursive: true });
        await Deno.writeTextFile(`${local}/project.qgs`, makeQgs({ layers: [] }));
        await Deno.writeFile(`${local}/DCIM/big.bin`, new Uint8Array(300_000).fill(3));
        const insecure = { ...env, QFIELDCLOUD_VERIFY_SSL: "0" };
        const login = await runCli(["login", "alice", "--password-stdin"], {
          env: { ...insecure, QFIELDCLOUD_TOKEN: undefined },
          stdin: `${USERS[0].password}\n`,
        });
        expect(login.code).toBe(0);
        const created = await runCli(["--json", "create-project", "tls"], { env: insecure });
        const id = JSON.parse(created.stdout).id;
        const up = await runCli(["upload-files", id, local], { env: insecure });
        expect(up.code).toBe(0);
        expect(up.stdout).toContain("Uploaded 2 file(s)");
        const down = await runCli(["download-files", id, `${dir}/download`], { env: insecure });
        expect(down.code).toBe(0);
        expect((await Deno.readFile(`${dir}/download/DCIM/big.bin`)).length).toBe(300_000);
      });

      await t.step("QFIELDCLOUD_VERIFY_SSL=0 works in a subprocess too", async () => {
        const run = await runCliProcess(["--json", "list-projects"], {
          env: { ...env, QFIELDCLOUD_VERIFY_SSL: "0" },
        });
        expect(run.code).toBe(0);
        expect(JSON.parse(run.stdout)[0].name).toBe("tls");
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
