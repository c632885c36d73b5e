/**
 * Results reported in the order a plan names its files (see `OrderedPlan`).
 *
 * @module
 */
import type { TransferResult } from "./types.ts";

/**
 * The results in the order of `names` (a name's result at a name's place); results of names
 * not listed keep their order, after the others.
 */
export function inOrder(
  results: readonly TransferResult[],
  names: readonly string[],
): TransferResult[] {
  const place = new Map(names.map((name, index) => [name, index]));
  const at = (r: TransferResult) => place.get(r.name) ?? names.length;
  return results.map((r, index) => ({ r, index }))
    .sort((a, b) => at(a.r) - at(b.r) || a.index - b.index)
    .map(({ r }) => r);
}
