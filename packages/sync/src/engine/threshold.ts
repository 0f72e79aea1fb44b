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
  /** For the run's error summary: what was planned and which limit it broke. */
  message: string;
}

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
  return {
    plannedDeactivations: planned,
    activeManagedUsers: active,
    thresholdCount,
    thresholdPercent,
    message:
      `The sync would deactivate ${format(planned)} of ${format(active)} active users it manages, more than ` +
      `${limitsBroken.join(' and more than ')}. Nothing was written.`,
  };
}
