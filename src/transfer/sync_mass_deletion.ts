/**
 * The mass-deletion guard of push, pull and sync: a plan that would delete
 * more than half of one side's files (and more than ten) stops before
 * anything is done. It catches an emptied folder or a wrong project id.
 *
 * @module
 */
import { QfcException } from "../errors.ts";
import type { TransferAction, TransferActionKind } from "./plan.ts";

/** A plan may delete at most this many files of a side before the guard looks at the share. */
export const MASS_DELETION_MIN_FILES = 10;

/** A plan would delete too many of one side's files; see `SyncOptions.allowMassDelete`. */
export interface MassDeletion {
  /** The side that would lose files. */
  side: "local" | "cloud";
  /** Files the plan deletes there. */
  deletions: number;
  /** Files that side holds (within the filter). */
  files: number;
}

/** Thrown when a plan would delete too many files; nothing has been done. */
export class QfcMassDeletionException extends QfcException {
  /** What the plan would have deleted. */
  readonly massDeletion: MassDeletion;

  /** Creates the error from the guard's finding. */
  constructor(massDeletion: MassDeletion) {
    const where = massDeletion.side === "local" ? "in the folder" : "on the cloud";
    super(
      `Stopped before doing anything: the plan deletes ${massDeletion.deletions} of the ` +
        `${massDeletion.files} files ${where}; check the folder and the project id, and pass ` +
        "--allow-mass-delete (allowMassDelete) to go ahead",
    );
    this.massDeletion = massDeletion;
  }
}

/** The side a plan would empty of more than half its files (and more than 10), if any. */
export function massDeletionOf(
  actions: readonly TransferAction[],
  localFiles: number,
  cloudFiles: number,
): MassDeletion | undefined {
  const count = (kind: TransferActionKind) => actions.filter((a) => a.kind === kind).length;
  const sides = [
    { side: "local" as const, deletions: count("delete_local"), files: localFiles },
    { side: "cloud" as const, deletions: count("delete_remote"), files: cloudFiles },
  ];
  return sides.find((s) => s.deletions > MASS_DELETION_MIN_FILES && s.deletions > s.files / 2);
}
