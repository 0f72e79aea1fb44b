import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type ApprovalOutcome,
  type Connector,
  DomainError,
  isRunEventId,
  parseInput,
  RUN_COUNT_KEYS,
  RUN_STATUS_INFO,
  type RunApproval,
  type RunCountKey,
  type RunCounts,
  type RunDetails,
  type RunListFilter,
  type RunListInput,
  RunListInputSchema,
  type RunListRow,
  type RunStatus,
  type RunTrigger,
} from '@provisioning/shared';
import type { ThresholdDetails } from '../entities/index.ts';
import { inOrganisation, isUuid, sql } from './common.ts';

/**
 * The admin page's reads of runs. Every function takes the organisation from the caller's session and
 * runs inside `inOrganisation`, so the API's database role sees that organisation's rows and no other.
 */

interface RunRow {
  id: string;
  status: RunStatus;
  trigger: RunTrigger;
  configuration_id: string;
  configuration_name: string;
  connector: Connector;
  /** Timestamps come back as PostgreSQL prints them (the ORM's driver setting) or as Dates. */
  queued_at: Date | string;
  /** queued_at to the microsecond, as PostgreSQL prints it: the page cursor's key. */
  queued_at_key: string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  duration_ms: number | null;
  rows_read: number;
  rows_planned: number;
  rows_applied: number;
}

const ROW_COLUMNS = `r.id, r.status, r.trigger, r.configuration_id, c.name as configuration_name, c.connector,
  r.queued_at, r.queued_at::text as queued_at_key, r.started_at, r.finished_at, r.duration_ms,
  r.rows_read, r.rows_planned, r.rows_applied`;

function isoTime(value: Date | string): string {
  return new Date(value).toISOString();
}

function listRow(row: RunRow): RunListRow {
  return {
    id: row.id,
    status: row.status,
    trigger: row.trigger,
    configurationId: row.configuration_id,
    configurationName: row.configuration_name,
    connector: row.connector,
    queuedAt: isoTime(row.queued_at),
    startedAt: row.started_at === null ? null : isoTime(row.started_at),
    finishedAt: row.finished_at === null ? null : isoTime(row.finished_at),
    durationMs: row.duration_ms,
    progress: { read: row.rows_read, planned: row.rows_planned, applied: row.rows_applied },
    logKind: RUN_STATUS_INFO[row.status].logKind,
  };
}

/** A page cursor: where the previous page ended. Opaque to clients, checked strictly when it comes back. */
interface Cursor {
  queuedAt: string;
  id: string;
}

const TIMESTAMP_KEY =
  /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::(\d{2}))?$/;

/**
 * A timestamp as PostgreSQL prints it, every field in range: a well-formed but impossible one (30 February,
 * hour 25, offset +99) would otherwise reach the `::timestamptz` cast and fail there as a database error.
 */
function isTimestampKey(text: string): boolean {
  const match = TIMESTAMP_KEY.exec(text);
  if (!match) return false;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, offsetHours = 0, offsetMinutes = 0] =
    match.slice(1).map((field) => Number(field ?? 0));
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return (
    year >= 1 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60 &&
    offsetHours < 16 &&
    offsetMinutes < 60
  );
}

function encodeCursor(row: RunRow): string {
  return Buffer.from(JSON.stringify([row.queued_at_key, row.id])).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  const invalid = () =>
    new DomainError('BAD_INPUT', 'The page cursor is not valid: start again from the first page', {
      cursor: ['The page cursor is not valid'],
    });
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'string' ||
    typeof parsed[1] !== 'string' ||
    !isTimestampKey(parsed[0]) ||
    !isUuid(parsed[1])
  ) {
    throw invalid();
  }
  return { queuedAt: parsed[0], id: parsed[1] };
}

export interface RunPage {
  runs: RunListRow[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** An SQL text with `?` placeholders (an array binds as a list) and its values, in order. */
export interface SqlQuery {
  sql: string;
  params: unknown[];
}

/** The columns of sync_run a list row needs, read in the page subquery. */
const PAGE_COLUMNS = `id, status, trigger, configuration_id, queued_at, started_at, finished_at, duration_ms,
  rows_read, rows_planned, rows_applied`;

/**
 * The page query of `listRuns`, exported so `pnpm bench:api` times the very same SQL bare. The page is
 * cut from sync_run alone (the (organisation_id, queued_at, id) index answers the order and the cursor's
 * row comparison directly), and only its rows are joined to their configurations: joining first lets
 * row-level security's and the join's estimates steer the planner to a far slower plan.
 */
export function runPageQuery(
  organisationId: string,
  timeZone: string,
  filter: RunListFilter,
  cursor: string | null,
  limit: number,
  now: Date,
): SqlQuery {
  const after = cursor ? decodeCursor(cursor) : null;
  const where = ['organisation_id = ?'];
  const params: unknown[] = [organisationId];
  if (filter.range === 'last7' || filter.range === 'last30') {
    // Midnight at the start of the first day, in the organisation's time zone (DST-aware).
    where.push(`queued_at >= (((?::timestamptz at time zone ?)::date - ?::int)::timestamp at time zone ?)`);
    params.push(now.toISOString(), timeZone, filter.range === 'last7' ? 6 : 29, timeZone);
  } else if (filter.range === 'custom' && filter.from && filter.to) {
    where.push('queued_at >= ((?::date)::timestamp at time zone ?)');
    params.push(filter.from, timeZone);
    where.push('queued_at < (((?::date) + 1)::timestamp at time zone ?)');
    params.push(filter.to, timeZone);
  }
  if (filter.configurationId) {
    where.push('configuration_id = ?');
    params.push(filter.configurationId);
  }
  if (filter.statuses.length > 0) {
    where.push('status = any(?::text[])');
    params.push(filter.statuses);
  }
  const newest = filter.sort === 'newest';
  if (after) {
    where.push(`(queued_at, id) ${newest ? '<' : '>'} (?::timestamptz, ?::uuid)`);
    params.push(after.queuedAt, after.id);
  }
  const direction = newest ? 'desc' : 'asc';
  const order = `order by queued_at ${direction}, id ${direction}`;
  return {
    sql: `select ${ROW_COLUMNS}
      from (select ${PAGE_COLUMNS} from sync_run where ${where.join(' and ')} ${order} limit ?) r
      join sync_configuration c on c.id = r.configuration_id
      order by r.queued_at ${direction}, r.id ${direction}`,
    params: [...params, limit + 1],
  };
}

/**
 * One page of an organisation's runs, filtered and sorted by queued time, keyset-paginated so pages stay
 * stable while new runs arrive. Dates are calendar days in the organisation's time zone: "last 7 days"
 * is today and the six days before it; a custom range includes both its first and last day.
 */
export async function listRuns(
  em: EntityManager,
  organisationId: string,
  input: RunListInput,
  now = new Date(),
): Promise<RunPage> {
  const { filter, cursor, limit } = parseInput(RunListInputSchema, input, 'Runs filter');
  return inOrganisation(em, organisationId, async (tx) => {
    const [organisation] = await sql<{ time_zone: string }>(
      tx,
      // A zone PostgreSQL does not know (set before it was checked) falls back to UTC instead of failing
      // every date filter.
      `select case when known_time_zone(time_zone) then time_zone else 'UTC' end as time_zone
       from organisation where id = ?`,
      [organisationId],
    );
    if (!organisation) throw new DomainError('NOT_FOUND', `Organisation ${organisationId} not found`);
    const query = runPageQuery(organisationId, organisation.time_zone, filter, cursor ?? null, limit, now);
    const rows = await sql<RunRow>(tx, query.sql, query.params);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      runs: page.map(listRow),
      nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
    };
  });
}

/** The sync_run column of each count: the ledger writes them, RunDetails reads them. */
export const RUN_COUNT_COLUMNS = {
  created: 'created_count',
  updated: 'updated_count',
  reactivated: 'reactivated_count',
  deactivated: 'deactivated_count',
  unchanged: 'unchanged_count',
  skipped: 'skipped_count',
  warnings: 'warning_count',
  errors: 'error_count',
} as const satisfies Record<RunCountKey, string>;

/** A sync_run_approval row as `to_jsonb` gives it. */
interface ApprovalJson {
  blocked_run_id: string;
  approved_by: string;
  reason: string;
  approved_at: string;
  expires_at: string;
  used_by_run_id: string | null;
  outcome: ApprovalOutcome | null;
}

export type RunDetailRow = RunRow &
  Record<(typeof RUN_COUNT_COLUMNS)[RunCountKey], number> & {
    error_summary: string | null;
    threshold_details: ThresholdDetails | null;
    approval: ApprovalJson | null;
    trigger_approval: ApprovalJson | null;
  };

function approvalOf(row: ApprovalJson | null): RunApproval | null {
  if (!row) return null;
  return {
    blockedRunId: row.blocked_run_id,
    approvedBy: row.approved_by,
    reason: row.reason,
    approvedAt: isoTime(row.approved_at),
    expiresAt: isoTime(row.expires_at),
    usedByRunId: row.used_by_run_id,
    outcome: row.outcome,
  };
}

/**
 * The select of RunDetails rows (`r` the run, `c` its configuration): the API's run details and support's
 * `runs show` / `runs list` read the same columns and print the same shape.
 */
export const RUN_DETAILS_SELECT = `select ${ROW_COLUMNS},
    ${RUN_COUNT_KEYS.map((key) => `r.${RUN_COUNT_COLUMNS[key]}`).join(', ')}, r.error_summary, r.threshold_details,
    to_jsonb(a) as approval, to_jsonb(ta) as trigger_approval
  from sync_run r join sync_configuration c on c.id = r.configuration_id
    left join sync_run_approval a on a.blocked_run_id = r.id
    left join sync_run_approval ta on ta.id = r.approval_id`;

/** A row of RUN_DETAILS_SELECT as RunDetails. */
export function runDetailsOf(row: RunDetailRow): RunDetails {
  const threshold = row.threshold_details;
  return {
    ...listRow(row),
    counts: Object.fromEntries(RUN_COUNT_KEYS.map((key) => [key, row[RUN_COUNT_COLUMNS[key]]])) as RunCounts,
    errorSummary: row.error_summary,
    // The sample of would-be deactivations stays with support: it names people.
    threshold: threshold
      ? {
          plannedDeactivations: threshold.plannedDeactivations,
          activeManagedUsers: threshold.activeManagedUsers,
          thresholdCount: threshold.thresholdCount,
          thresholdPercent: threshold.thresholdPercent,
        }
      : null,
    approval: approvalOf(row.approval),
    triggerApproval: approvalOf(row.trigger_approval),
  };
}

/** One run with its counts, error summary and threshold figures; another organisation's run is NOT_FOUND. */
export async function getRunDetails(
  em: EntityManager,
  organisationId: string,
  runId: string,
): Promise<RunDetails> {
  const notFound = new DomainError('NOT_FOUND', `Run ${runId} not found`);
  if (!isUuid(runId)) throw notFound;
  const [row] = await inOrganisation(em, organisationId, (tx) =>
    sql<RunDetailRow>(tx, `${RUN_DETAILS_SELECT} where r.id = ? and r.organisation_id = ?`, [
      runId,
      organisationId,
    ]),
  );
  if (!row) throw notFound;
  return runDetailsOf(row);
}

/** The configuration filter's choices: every configuration of the organisation, by name. */
export async function listConfigurationChoices(
  em: EntityManager,
  organisationId: string,
): Promise<{ id: string; name: string; connector: Connector }[]> {
  return inOrganisation(em, organisationId, (tx) =>
    sql(
      tx,
      'select id, name, connector from sync_configuration where organisation_id = ? order by lower(name), id',
      [organisationId],
    ),
  );
}

/** Replayed at most this many changed runs on resume; past that the client reloads its list instead. */
export const RUN_CHANGES_REPLAY_LIMIT = 1000;

export interface RunChanges {
  /** Changed runs, oldest change first. */
  runs: RunListRow[];
  /** Each run's change stamp (transaction ID), parallel to `runs`, for de-duplication. */
  stamps: string[];
  /** Every change made by a transaction before this point is in `runs` or an earlier answer. */
  resumeFrom: string;
  /** More changed than can be replayed: the client should reload instead. */
  overflow: boolean;
}

/**
 * The organisation's runs changed since `since` (a resume point from an earlier answer; null for "now").
 *
 * A resume point is a transaction ID: the oldest transaction still running when the answer was read
 * (the snapshot's xmin). Every change of an older transaction has committed (or never will) and was
 * visible, so nothing before the resume point can still appear. Changes of newer transactions that
 * have already committed are returned too (early, and again once the resume point passes them): a
 * long-running transaction elsewhere must not hold back the status changes of other runs.
 */
export async function runChangesSince(
  em: EntityManager,
  organisationId: string,
  since: string | null,
): Promise<RunChanges> {
  if (since !== null && !isRunEventId(since)) {
    throw new DomainError('BAD_INPUT', 'The last event ID is not valid', { lastEventId: ['Not valid'] });
  }
  return inOrganisation(em, organisationId, async (tx) => {
    const [snapshot] = await sql<{ xmin: string }>(
      tx,
      'select pg_snapshot_xmin(pg_current_snapshot())::text as xmin',
    );
    const resumeFrom = snapshot!.xmin;
    const rows = await sql<RunRow & { change_xid: string }>(
      tx,
      `select ${ROW_COLUMNS}, r.change_xid
       from sync_run r join sync_configuration c on c.id = r.configuration_id
       where r.organisation_id = ? and r.change_xid >= ?::bigint
       order by r.change_xid, r.id
       limit ?`,
      [organisationId, since ?? resumeFrom, RUN_CHANGES_REPLAY_LIMIT + 1],
    );
    const overflow = rows.length > RUN_CHANGES_REPLAY_LIMIT;
    const kept = overflow ? [] : rows;
    return {
      runs: kept.map(listRow),
      stamps: kept.map((row) => String(row.change_xid)),
      resumeFrom,
      overflow,
    };
  });
}
