import { z } from 'zod';
import { singleLineText } from './text.ts';

/** A blocked run may be approved this long after it ended; later, the source may have moved on. */
export const APPROVAL_WINDOW_HOURS = 24;
/** An approval must be used by its run within this time of being given. */
export const APPROVAL_VALID_HOURS = 24;

/** What became of an approval: its run applied the plan, or refused it again (see `APPROVAL_OUTCOMES`). */
export const APPROVAL_OUTCOMES = ['applied', 'plan_grew', 'lapsed'] as const;
export type ApprovalOutcome = (typeof APPROVAL_OUTCOMES)[number];

/** Support's approval of a run that ended Above Deactivation Threshold: `sync approve RUN --by --reason`. */
export const RunApprovalInputSchema = z.strictObject({
  by: singleLineText('The approver’s name (--by)', 200),
  reason: singleLineText('The reason (--reason)', 1000),
});
export type RunApprovalInput = z.input<typeof RunApprovalInputSchema>;

/**
 * An approval as runs show it: on the blocked run, the approval it was given; on the run it queued
 * (trigger `approval`), the approval it ran under.
 */
export interface RunApproval {
  blockedRunId: string;
  approvedBy: string;
  reason: string;
  approvedAt: string;
  expiresAt: string;
  /** The run that applied the approved plan, once one did. */
  usedByRunId: string | null;
  outcome: ApprovalOutcome | null;
}

/** Planned deactivations per page of a blocked run's list, and the most a caller may ask for. */
export const PLANNED_DEACTIVATIONS_PAGE_SIZE = 50;
export const PLANNED_DEACTIVATIONS_PAGE_SIZE_MAX = 200;

export const PlannedDeactivationsInputSchema = z.strictObject({
  runId: z.uuid({ error: 'Must be an ID (a UUID)' }),
  /** The `nextCursor` of the previous page: the last user ID it showed. */
  cursor: z.uuid({ error: 'The page cursor is not valid: start again from the first page' }).nullish(),
  limit: z
    .number({ error: 'Page size must be a number' })
    .int('Page size must be a whole number')
    .min(1, 'Page size must be at least 1')
    .max(
      PLANNED_DEACTIVATIONS_PAGE_SIZE_MAX,
      `Page size must be at most ${PLANNED_DEACTIVATIONS_PAGE_SIZE_MAX}`,
    )
    .default(PLANNED_DEACTIVATIONS_PAGE_SIZE),
});
export type PlannedDeactivationsInput = z.input<typeof PlannedDeactivationsInputSchema>;

/** One user a blocked run would have deactivated; null fields when the user has left the directory since. */
export interface PlannedDeactivation {
  userId: string;
  name: string | null;
  email: string | null;
  externalId: string | null;
}

export interface PlannedDeactivationsPage {
  users: PlannedDeactivation[];
  nextCursor: string | null;
}
