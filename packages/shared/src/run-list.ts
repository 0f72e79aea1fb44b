import { z } from 'zod';
import { CONNECTORS, type Connector } from './connectors.ts';
import type { LogPurge } from './log-retention.ts';
import type { RunApproval } from './run-approval.ts';
import {
  RUN_STATUSES,
  type RunCounts,
  type RunLogKind,
  type RunProgress,
  type RunStatus,
  RunStatusSchema,
  type RunTrigger,
} from './run-status.ts';
import type { RunNotification } from './slack.ts';
import type { SourceFingerprint } from './source-fingerprint.ts';
import { noControlCharacters } from './text.ts';

/** Date presets of the runs list; days are calendar days in the organisation's time zone. */
export const RUN_DATE_RANGES = ['all', 'last7', 'last30', 'custom'] as const;
export type RunDateRange = (typeof RUN_DATE_RANGES)[number];

export const RUN_SORTS = ['newest', 'oldest'] as const;
export type RunSort = (typeof RUN_SORTS)[number];

/** Rows per page when the caller does not say, and the most it may ask for. */
export const RUN_PAGE_SIZE_DEFAULT = 50;
export const RUN_PAGE_SIZE_MAX = 200;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isCalendarDate(value: string): boolean {
  const match = ISO_DATE.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    year >= 1970 &&
    year <= 9999 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day
  );
}

/** A calendar date, `YYYY-MM-DD`: the form of `<input type="date">` and of the page's URL. */
export const CalendarDateSchema = z
  .string()
  .max(10, { error: 'Use a date in the form YYYY-MM-DD', abort: true })
  .refine(isCalendarDate, {
    error: (issue) => `"${String(issue.input)}" is not a date in the form YYYY-MM-DD`,
  });

const IdSchema = z.uuid({ error: 'Must be an ID (a UUID)' });

/**
 * The runs list's filters: the tRPC input, the web page's URL state and (later) the Slack command all
 * parse with this one schema. Unknown keys are refused so a misspelt filter is an error, not ignored.
 */
export const RunListFilterSchema = z
  .strictObject({
    range: z
      .enum(RUN_DATE_RANGES, { error: () => `Date range must be one of: ${RUN_DATE_RANGES.join(', ')}` })
      .default('all'),
    /** First day, inclusive (custom range only). */
    from: CalendarDateSchema.optional(),
    /** Last day, inclusive (custom range only). */
    to: CalendarDateSchema.optional(),
    sort: z
      .enum(RUN_SORTS, { error: () => `Sort must be one of: ${RUN_SORTS.join(', ')}` })
      .default('newest'),
    configurationId: IdSchema.optional(),
    statuses: z
      .array(RunStatusSchema)
      .max(RUN_STATUSES.length * 2, 'Too many statuses')
      .default([])
      .transform((statuses) => [...new Set(statuses)]),
    /** The sources (connectors) whose runs are listed; none: every source. */
    sources: z
      .array(z.enum(CONNECTORS, { error: () => `Source must be one of: ${CONNECTORS.join(', ')}` }))
      .max(CONNECTORS.length * 2, 'Too many sources')
      .default([])
      .transform((sources) => [...new Set(sources)]),
  })
  .superRefine((filter, ctx) => {
    if (filter.range === 'custom') {
      if (filter.from === undefined)
        ctx.addIssue({ code: 'custom', path: ['from'], message: 'Choose the first day of the range' });
      if (filter.to === undefined)
        ctx.addIssue({ code: 'custom', path: ['to'], message: 'Choose the last day of the range' });
      // Compared only when both are dates: a bad first day is reported once, on its own field.
      const { from, to } = filter;
      if (from !== undefined && to !== undefined && isCalendarDate(from) && isCalendarDate(to) && from > to) {
        ctx.addIssue({
          code: 'custom',
          path: ['to'],
          message: 'The last day must not be before the first day',
        });
      }
    } else {
      for (const key of ['from', 'to'] as const) {
        if (filter[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `A ${key === 'from' ? 'first' : 'last'} day applies only to a custom range`,
          });
        }
      }
    }
  });
export type RunListFilter = z.output<typeof RunListFilterSchema>;
export type RunListFilterInput = z.input<typeof RunListFilterSchema>;

/** An opaque page cursor from a previous page's `nextCursor`. */
export const RunCursorSchema = z.string().min(1).max(200, 'The page cursor is not valid');

export const RunListInputSchema = z.strictObject({
  filter: RunListFilterSchema.default({ range: 'all', sort: 'newest', statuses: [], sources: [] }),
  cursor: RunCursorSchema.nullish(),
  limit: z
    .number({ error: 'Page size must be a number' })
    .int('Page size must be a whole number')
    .min(1, 'Page size must be at least 1')
    .max(RUN_PAGE_SIZE_MAX, `Page size must be at most ${RUN_PAGE_SIZE_MAX}`)
    .default(RUN_PAGE_SIZE_DEFAULT),
});
export type RunListInput = z.input<typeof RunListInputSchema>;

export const RunIdInputSchema = z.strictObject({ runId: IdSchema });

/** One row of the runs list, as the API returns it and the live feed pushes it. */
export interface RunListRow {
  id: string;
  status: RunStatus;
  trigger: RunTrigger;
  configurationId: string;
  configurationName: string;
  connector: Connector;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  progress: RunProgress;
  /** The log the run offers for download, or null when it has none (never had one, or it was purged). */
  logKind: RunLogKind;
  /** When retention deleted the run's log, and under which policy; null while the log is kept. */
  logPurge: LogPurge | null;
}

/** One run with its counts: what the API's `runs.get` answers and the CLI's `runs show` and `runs list` print. */
export interface RunDetails extends RunListRow {
  counts: RunCounts;
  errorSummary: string | null;
  /** Above Deactivation Threshold only: what was planned against the limits. */
  threshold: {
    plannedDeactivations: number;
    activeManagedUsers: number;
    thresholdCount: number;
    thresholdPercent: number;
  } | null;
  /** The run's Slack notification; null before the run finished (or when it finished before Slack existed). */
  notification: RunNotification | null;
  /** Above Deactivation Threshold only: support's approval of this run's plan, once given. */
  approval: RunApproval | null;
  /** Trigger `approval` only: the approval that queued this run, and under which it ran. */
  triggerApproval: RunApproval | null;
  /** What the run read, once its source was read to the end; null before, or when the load broke off. */
  source: SourceFingerprint | null;
}

export const LOG_FORMATS = ['csv', 'xlsx'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Where the API serves a run's log file; the page links here so the browser saves it under its name. */
export function runLogPath(runId: string, format: LogFormat): string {
  return `/api/runs/${encodeURIComponent(runId)}/log.${format}`;
}

export const SignInInputSchema = z.strictObject({
  // PostgreSQL refuses NUL in text: the lookup must never see one.
  email: z
    .string()
    .trim()
    .min(1, 'Enter your email')
    .max(254, 'Email is too long')
    .pipe(noControlCharacters('Email')),
  // scrypt (OpenSSL) drops a password's trailing NULs, so "pw\0" would verify as "pw". Only NUL is refused:
  // older accounts may have other control characters in their passwords, and must still sign in.
  password: z
    .string()
    .min(1, 'Enter your password')
    .max(1024, 'Password is too long')
    .refine((password) => !password.includes('\u0000'), 'Password must not contain NUL characters'),
});
export type SignInInput = z.input<typeof SignInInputSchema>;

/**
 * The live feed of run changes. Event IDs are resume points: a client that reconnects with the last ID
 * it saw receives every change since, or `resync` when too much happened meanwhile to replay. `live`
 * comes once per connection, after the changes it had missed: from then on changes arrive as they happen.
 * The feed ends, with no event of this type, by the error a new call would get once access is gone
 * (UNAUTHORIZED: signed out or expired; FORBIDDEN with `accessDenial`: role or organisation): every
 * client, including pages loaded before this rule, already treats those as final.
 */
export type RunChangeEvent = { type: 'run'; run: RunListRow } | { type: 'resync' } | { type: 'live' };

const MAX_BIGINT = 2n ** 63n - 1n;

/** A live-feed event ID: a PostgreSQL bigint, which nineteen digits can still overflow. */
export function isRunEventId(value: string): boolean {
  return /^\d{1,19}$/.test(value) && BigInt(value) <= MAX_BIGINT;
}

export const RunChangesInputSchema = z.strictObject({
  lastEventId: z.string().refine(isRunEventId, 'The last event ID is not valid').nullish(),
});
