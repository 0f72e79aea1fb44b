import { THRESHOLD_PERCENT_MIN_USERS } from '@provisioning/shared';
import type { Plan } from './types.ts';

export interface ThresholdLimits {
  /** Most deactivations a run may make. */
  thresholdCount: number;
  /** Most deactivations as a percentage of the active managed users, applied from 100 of them. */
  thresholdPercent: number;
}

/** Why a run was blocked: kept on the run for support. */
export interface ThresholdExceeded extends ThresholdLimits {
  plannedDeactivations: number;
  activeManagedUsers: number;
  /** What was planned and which limit it broke. */
  finding: string;
  /** For the run's error summary: the finding, and that nothing was written. */
  message: string;
}

const NOTHING_WRITTEN = 'Nothing was written.';

const format = (value: number) => value.toLocaleString('en-US');

/**
 * Null when the plan's deactivations are within the configuration's limits, else what was exceeded.
 * Exceeded means strictly more than the count, or strictly more than the percentage of the active managed
 * users (that limit applies only from THRESHOLD_PERCENT_MIN_USERS of them): 200 of 1,000 at 20% passes.
 */
export function checkThreshold(plan: Plan, limits: ThresholdLimits): ThresholdExceeded | null {
  const planned = plan.counts.deactivated;
  const active = plan.activeManagedUsers;
  const { thresholdCount, thresholdPercent } = limits;
  const overCount = planned > thresholdCount;
  // In hundredths of a percent, as the configuration stores it: exact, no floating-point edge at the limit.
  const overPercent =
    active >= THRESHOLD_PERCENT_MIN_USERS && planned * 10_000 > active * Math.round(thresholdPercent * 100);
  if (!overCount && !overPercent) return null;

  const limitsBroken: string[] = [];
  if (overCount) limitsBroken.push(`the limit of ${format(thresholdCount)}`);
  if (overPercent) {
    const allowed = Math.floor((active * Math.round(thresholdPercent * 100)) / 10_000);
    limitsBroken.push(`${thresholdPercent}% of them (${format(allowed)})`);
  }
  const finding =
    `The sync would deactivate ${format(planned)} of ${format(active)} active users it manages, more than ` +
    `${limitsBroken.join(' and more than ')}.`;
  return {
    plannedDeactivations: planned,
    activeManagedUsers: active,
    thresholdCount,
    thresholdPercent,
    finding,
    message: `${finding} ${NOTHING_WRITTEN}`,
  };
}

/** Support's approval as a run of trigger `approval` checks its plan against it. */
export interface PlanApproval {
  approvedBy: string;
  /** Unused and unexpired. */
  usable: boolean;
  expiresAt: Date;
  usedByRunId: string | null;
  /** Every user the approved (blocked) run would have deactivated. */
  approvedUserIds: ReadonlySet<string>;
}

export type ApprovalCheck =
  | { pass: true }
  | { pass: false; outcome: 'plan_grew' | 'lapsed'; message: string };

/**
 * For a plan over the threshold, in a run queued by support's approval: it passes only when every
 * planned deactivation was in the approved plan and the approval is unused and unexpired. A plan that
 * grew is refused with how many deactivations were not approved.
 */
export function checkApproval(
  plan: Plan,
  exceeded: ThresholdExceeded,
  approval: PlanApproval,
): ApprovalCheck {
  let outside = 0;
  for (const action of plan.actions) {
    if (action.action === 'deactivate' && !approval.approvedUserIds.has(action.userId)) outside++;
  }
  if (outside > 0) {
    const was = outside === 1 ? 'deactivation was' : 'deactivations were';
    return {
      pass: false,
      outcome: 'plan_grew',
      message: `${exceeded.finding} ${format(outside)} ${was} not in the approved plan (approved by ${approval.approvedBy}). ${NOTHING_WRITTEN}`,
    };
  }
  if (!approval.usable) {
    const why =
      approval.usedByRunId === null
        ? `expired at ${approval.expiresAt.toISOString()}`
        : `was already used by run ${approval.usedByRunId}`;
    return {
      pass: false,
      outcome: 'lapsed',
      message: `${exceeded.finding} The approval by ${approval.approvedBy} ${why}. ${NOTHING_WRITTEN}`,
    };
  }
  return { pass: true };
}
