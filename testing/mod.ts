/**
 * An in-memory QFieldCloud server for tests and offline development. It
 * speaks the REST API of `/api/v1/` as the real server does (error bodies,
 * authentication, pagination headers, file versions, etags, downloads with
 * ETag/Range, jobs, packages, deltas, collaborators, organizations and teams),
 * keeps everything in memory (or file contents in a directory), and can
 * inject faults to test retries.
 *
 * From the command line: `deno task serve --port 8000 --user alice:secret`.
 *
 * @example Test your automation against it
 * ```ts
 * import { startTestServer } from "@qfieldcloud/sdk/testing";
 *
 * await using server = await startTestServer({
 *   users: [{ username: "alice", password: "secret" }],
 * });
 * const { id } = server.addProject({ name: "survey", owner: "alice" });
 * await server.putFile(id, "notes.txt", "Hello!");
 *
 * const token = server.createToken("alice", "cli|my-script");
 * const res = await fetch(`${server.url}files/${id}/`, {
 *   headers: { Authorization: `Token ${token}` },
 * });
 * const files = await res.json();
 * console.log(files[0].md5sum); // 952d2c56d0485958336747bcdd98590d
 *
 * // The next listing fails once with the proxy's HTML 502 page.
 * server.injectFault({ path: /\/files\//, status: 502 });
 * ```
 *
 * @module
 */
export {
  type FaultSpec,
  type LoggedRequest,
  startTestServer,
  type TestProjectInit,
  type TestServer,
  type TestServerOptions,
  type TestSso,
  type TestSsoOptions,
  type TestUserInit,
} from "./server.ts";
export { FakeOidcProvider, type FakeOidcProviderOptions } from "./sso_provider.ts";
export { type SessionResult, SsoMiddleware } from "./sso_middleware.ts";
export {
  type AuthToken,
  type ClientType,
  type Delta,
  type DeltaStatus,
  type FileEntry,
  type FileVersion,
  type Job,
  type JobStatus,
  type JobType,
  type OrganizationMember,
  type OrganizationRole,
  type Project,
  PROJECT_ROLES,
  type ProjectCollaborator,
  type ProjectRole,
  type ProjectSeed,
  type ProjectType,
  type TeamMember,
  type User,
  type UserType,
} from "./entities.ts";
export {
  type LoginFailures,
  type ProjectInit,
  ServerState,
  type ServerStateOptions,
  type UserInit,
} from "./server_state.ts";
export { failNextJob } from "./jobs.ts";
export type { JobSchedule } from "./job_schedule.ts";
export {
  BlobStorage,
  type BlobStorageOptions,
  type ByteRange,
  type StoredBlob,
} from "./storage.ts";
