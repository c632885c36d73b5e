/**
 * Pages of list endpoints: QFieldCloud pages with `limit` and `offset`.
 *
 * @module
 */

/** The page size of the Python SDK, used when a {@linkcode Pagination} has a limit of 0 or none. */
export const DEFAULT_PAGINATION_LIMIT = 20;

/** Options of {@linkcode Pagination}. */
export interface PaginationOptions {
  /** Items per page; a positive integer. */
  limit?: number;
  /** Items to skip; defaults to 0. */
  offset?: number;
}

/**
 * Asks a list call for exactly one page. Without one, list calls return every
 * item.
 *
 * @example The second page of 10 projects
 * ```ts
 * import { Client, Pagination } from "@qfieldcloud/sdk";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const page = await client.listProjects({ pagination: new Pagination({ limit: 10, offset: 10 }) });
 * ```
 */
export class Pagination {
  /** Items per page. */
  readonly limit?: number;
  /** Items to skip. */
  readonly offset?: number;

  /** Creates a page request; a limit or offset that is not a non-negative integer is a `RangeError`. */
  constructor(options: PaginationOptions = {}) {
    const { limit, offset } = options;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw new RangeError(`Cannot use limit "${limit}": it must be a positive integer`);
    }
    if (offset !== undefined && (!Number.isInteger(offset) || offset < 0)) {
      throw new RangeError(`Cannot use offset "${offset}": it must be a non-negative integer`);
    }
    this.limit = limit;
    this.offset = offset;
  }

  /** True when neither a limit nor an offset was given. */
  get isEmpty(): boolean {
    return this.limit === undefined && this.offset === undefined;
  }
}
