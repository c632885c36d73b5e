/**
 * Writing a download answer into a directory, under the name its `Content-Disposition` gives.
 *
 * @module
 */
import { mkdir, open, rename, rm } from "node:fs/promises";
import { fileNameFromContentDisposition } from "./content_disposition.ts";
import { QfcException } from "./errors.ts";
import { resolveLocalPath } from "./transfer/remote_names.ts";

/**
 * Streams `response`'s body into `localDir` (created if missing) under the file name of its
 * `Content-Disposition` (see {@linkcode fileNameFromContentDisposition}), or `fallbackName`.
 * The bytes go to a temporary file that is renamed into place, so an existing file of that name
 * is replaced only once the download is whole. Resolves with the absolute path written.
 */
export async function saveResponseToDir(
  response: Response,
  localDir: string,
  fallbackName: string,
): Promise<string> {
  let temp: string | undefined;
  try {
    const name = fileNameFromContentDisposition(
      response.headers.get("content-disposition"),
      fallbackName,
    );
    await mkdir(localDir, { recursive: true });
    const target = resolveLocalPath(localDir, name);
    if (target.problem !== undefined) throw new QfcException(target.problem);
    temp = `${target.path}.${crypto.randomUUID()}.part`;
    const file = await open(temp, "wx");
    try {
      if (response.body) {
        for await (const chunk of response.body) await file.write(chunk);
      }
    } finally {
      await file.close();
    }
    await rename(temp, target.path);
    temp = undefined;
    return target.path;
  } catch (error) {
    await response.body?.cancel().catch(() => {});
    if (temp !== undefined) await rm(temp, { force: true });
    throw error;
  }
}
