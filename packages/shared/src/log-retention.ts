import { z } from 'zod';
import { formatDateTime } from './display-format.ts';

/**
 * Retention, per organisation: a final run's log lines are deleted `log` days after it finished, and the
 * run's record (status, counts) `run` days after; a record outlives its log, never the reverse.
 */
export const LOG_RETENTION_DAYS_DEFAULT = 90;
export const RUN_RETENTION_DAYS_DEFAULT = 400;
export const RETENTION_DAYS_MIN = 7;
/** Ten years: longer is a typo, not a policy. */
export const RETENTION_DAYS_MAX = 3650;

/** A retention in whole days, named `label` in its messages. */
export const retentionDays = (label: string) =>
  z
    .number({ error: `${label} must be a number of days` })
    // abort: a value out of range gets that one message (1e20 is past the range, whatever its precision).
    .min(RETENTION_DAYS_MIN, { error: `${label} must be at least ${RETENTION_DAYS_MIN} days`, abort: true })
    .max(RETENTION_DAYS_MAX, {
      error: `${label} must be at most ${RETENTION_DAYS_MAX} days (10 years)`,
      abort: true,
    })
    .int(`${label} must be a whole number of days`);

/** Why a pair of retentions cannot stand together, or null when it can. */
export function retentionOrderProblem(logDays: number, runDays: number): string | null {
  return runDays < logDays
    ? `Run retention (${runDays} days) must be at least the log retention (${logDays} days): a run's record is kept at least as long as its log`
    : null;
}

/** A run whose log lines retention deleted: when, and under which policy. */
export interface LogPurge {
  purgedAt: string;
  retentionDays: number;
}

/** The answer to a download of a purged log, everywhere it is asked for (API, CLI, Slack, the page). */
export function purgedLogReason(purge: LogPurge, timeZone: string): string {
  const { date } = formatDateTime(purge.purgedAt, timeZone);
  return `This log was deleted on ${date} under the ${purge.retentionDays}-day retention policy.`;
}
