import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type ApprovalOutcome,
  CONNECTORS,
  type Connector,
  DomainError,
  isRunEventId,
  parseInput,
  RUN_COUNT_KEYS,
  RUN_STATUS_INFO,
  RUN_STATUSES,
  type RunApproval,
  type RunCountKey,
  type RunCounts,
  type RunDetails,
  type RunListFilter,
  type RunListInput,
  RunListInputSchema,
  type RunListRow,
  type RunNotificationState,
  type RunStatus,
  type RunTrigger,
  type SourceFingerprint,
} from '@provisioning/shared';
import type { ThresholdDetails } from '../entities/index.ts';
import {
  inOrganisation,
  isoTime,
  isUuid,
  type ReadScope,
  readInOrganisation,
  type SqlExpression,
  type SqlQuery,
  scopeOrganisation,
  sql,
} from './common.ts';

/**
 * The admin page's reads of runs. Every function takes the organisation from the caller's session and
 * runs inside `inOrganisation` (or `readInOrganisation`, its one-round-trip form for reads), so the API's
 * database role sees that organisation's rows and no other.
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
  log_purged_at: Date | string | null;
  log_purge_retention_days: number | null;
}

const ROW_COLUMNS = `r.id, r.status, r.trigger, r.configuration_id, c.name as configuration_name, r.connector,
  r.queued_at, r.queued_at::text as queued_at_key, r.started_at, r.finished_at, r.duration_ms,
  r.rows_read, r.rows_planned, r.rows_applied, r.log_purged_at, r.log_purge_retention_days`;

function listRow(row: RunRow): RunListRow {
  const logPurge =
    row.log_purged_at === null || row.log_purge_retention_days === null
      ? null
      : { purgedAt: isoTime(row.log_purged_at), retentionDays: row.log_purge_retention_days };
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
    logKind: logPurge ? null : RUN_STATUS_INFO[row.status].logKind,
    logPurge,
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
export function isTimestampKey(text: string): boolean {
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

/** A page cursor from the key of the page's last row: opaque to clients, checked strictly when it comes back. */
export function encodePageCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/**
 * The key a cursor holds, when `valid` accepts it (every part checked, so that a forged one never reaches
 * SQL as a failing cast); else BAD_INPUT.
 */
export function decodePageCursor<T extends unknown[]>(
  cursor: string,
  valid: (key: unknown[]) => key is T,
): T {
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
  if (!Array.isArray(parsed) || !valid(parsed)) throw invalid();
  return parsed;
}

function encodeCursor(row: RunRow): string {
  return encodePageCursor([row.queued_at_key, row.id]);
}

function decodeCursor(cursor: string): Cursor {
  const [queuedAt, id] = decodePageCursor(
    cursor,
    (key): key is [string, string] =>
      key.length === 2 &&
      typeof key[0] === 'string' &&
      typeof key[1] === 'string' &&
      isTimestampKey(key[0]) &&
      isUuid(key[1]),
  );
  return { queuedAt, id };
}

export interface RunPage {
  runs: RunListRow[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** The columns of sync_run a list row needs, read in the page subquery. */
const PAGE_COLUMNS = `id, status, trigger, configuration_id, connector, queued_at, started_at, finished_at, duration_ms,
  rows_read, rows_planned, rows_applied, log_purged_at, log_purge_retention_days`;

/** One `and`-ed condition of the page query with its parameters. */
interface Condition {
  sql: string;
  params: unknown[];
}

/**
 * The equalities a multi-valued filter asks for, one set per branch of the page query: every pair of a
 * chosen source and a chosen status. A filter with nothing chosen, or everything (the same rows), adds no
 * condition.
 */
function branchConditions(filter: RunListFilter): Condition[][] {
  const sources = filter.sources.length === CONNECTORS.length ? [] : filter.sources;
  const statuses = filter.statuses.length === RUN_STATUSES.length ? [] : filter.statuses;
  const bySource: Condition[][] =
    sources.length === 0 ? [[]] : sources.map((source) => [{ sql: 'connector = ?', params: [source] }]);
  return bySource.flatMap((conditions) =>
    statuses.length === 0
      ? [conditions]
      : statuses.map((status) => [...conditions, { sql: 'status = ?', params: [status] }]),
  );
}

/**
 * The organisation's time zone for the date filters, as `app.time_zone` of the transaction: one
 * statement before the page in the same round trip. No row when the organisation is not there. A zone
 * PostgreSQL does not know (set before it was checked) falls back to UTC instead of failing every date
 * filter.
 */
export function organisationTimeZone(organisationId: string | SqlExpression): SqlQuery {
  return {
    sql: `select set_config('app.time_zone', case when known_time_zone(time_zone) then time_zone else 'UTC' end, true)
      from organisation where id = ?`,
    params: [organisationId],
  };
}

/** Where the page query reads the zone that `organisationTimeZone` set. */
const ZONE = `current_setting('app.time_zone', true)`;

/**
 * The page query of `listRuns`, exported so `pnpm bench:api` times the very same SQL bare. The page is
 * cut from sync_run alone (the (organisation_id, queued_at, id) index answers the order and the cursor's
 * row comparison directly), and only its rows are joined to their configurations: joining first lets
 * row-level security's and the join's estimates steer the planner to a far slower plan.
 *
 * Several sources or statuses make a branch per source and status, each an equality that an index
 * ((organisation_id, status | connector [, status], queued_at, id)) returns already in order, merged by
 * PostgreSQL (Merge Append) up to the page's size. `status = any(...)` instead loses the index order: the
 * planner then reads every matching run and sorts them, 85 ms for two sources and two statuses over 100k
 * runs against 3 ms merged.
 *
 * The date filters read the organisation's zone from `app.time_zone` (`organisationTimeZone`).
 */
export function runPageQuery(
  organisationId: string | SqlExpression,
  filter: RunListFilter,
  cursor: string | null,
  limit: number,
  now: Date,
): SqlQuery {
  const after = cursor ? decodeCursor(cursor) : null;
  const common: Condition[] = [{ sql: 'organisation_id = ?', params: [organisationId] }];
  if (filter.range === 'last7' || filter.range === 'last30') {
    // Midnight at the start of the first day, in the organisation's time zone (DST-aware).
    common.push({
      sql: `queued_at >= (((?::timestamptz at time zone ${ZONE})::date - ?::int)::timestamp at time zone ${ZONE})`,
      params: [now.toISOString(), filter.range === 'last7' ? 6 : 29],
    });
  } else if (filter.range === 'custom' && filter.from && filter.to) {
    common.push({
      sql: `queued_at >= ((?::date)::timestamp at time zone ${ZONE})`,
      params: [filter.from],
    });
    common.push({
      sql: `queued_at < (((?::date) + 1)::timestamp at time zone ${ZONE})`,
      params: [filter.to],
    });
  }
  if (filter.configurationId) {
    common.push({ sql: 'configuration_id = ?', params: [filter.configurationId] });
  }
  const newest = filter.sort === 'newest';
  if (after) {
    common.push({
      sql: `(queued_at, id) ${newest ? '<' : '>'} (?::timestamptz, ?::uuid)`,
      params: [after.queuedAt, after.id],
    });
  }
  const direction = newest ? 'desc' : 'asc';
  const order = `order by queued_at ${direction}, id ${direction}`;
  const params: unknown[] = [];
  const branches = branchConditions(filter).map((conditions) => {
    const all = [...common, ...conditions];
    params.push(...all.flatMap((condition) => condition.params), limit + 1);
    return `select ${PAGE_COLUMNS} from sync_run where ${all.map((condition) => condition.sql).join(' and ')} ${order} limit ?`;
  });
  let page = branches[0]!;
  if (branches.length > 1) {
    page = `${branches.map((branch) => `(${branch})`).join(' union all ')} ${order} limit ?`;
    params.push(limit + 1);
  }
  return {
    sql: `select ${ROW_COLUMNS}
      from (${page}) r
      join sync_configuration c on c.id = r.configuration_id
      order by r.queued_at ${direction}, r.id ${direction}`,
    params,
  };
}

/**
 * One page of an organisation's runs, filtered and sorted by queued time, keyset-paginated so pages stay
 * stable while new runs arrive. Dates are calendar days in the organisation's time zone: "last 7 days"
 * is today and the six days before it; a custom range includes both its first and last day. `scope` is the
 * organisation's ID, or the API's session checked in the same message (`sessionScope`).
 */
export async function listRuns(
  em: EntityManager,
  scope: ReadScope,
  input: RunListInput,
  now = new Date(),
): Promise<RunPage> {
  const { filter, cursor, limit } = parseInput(RunListInputSchema, input, 'Runs filter');
  const organisation = scopeOrganisation(scope);
  const [zone, rows] = await readInOrganisation<[unknown[], RunRow[]]>(em, scope, [
    organisationTimeZone(organisation),
    runPageQuery(organisation, filter, cursor ?? null, limit, now),
  ]);
  if (zone.length === 0) {
    const named = typeof scope === 'string' ? ` ${scope}` : '';
    throw new DomainError('NOT_FOUND', `Organisation${named} not found`);
  }
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    runs: page.map(listRow),
    nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
  };
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
    notification_state: RunNotificationState | null;
    notification_error: string | null;
    notification_sent_at: Date | string | null;
    approval: ApprovalJson | null;
    trigger_approval: ApprovalJson | null;
    source: SourceFingerprint | null;
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
    ${RUN_COUNT_KEYS.map((key) => `r.${RUN_COUNT_COLUMNS[key]}`).join(', ')}, r.error_summary, r.threshold_details, r.source,
    n.state as notification_state, n.last_error as notification_error,
    case when n.state = 'sent' then n.updated_at end as notification_sent_at,
    to_jsonb(a) as approval, to_jsonb(ta) as trigger_approval
  from sync_run r join sync_configuration c on c.id = r.configuration_id
    left join run_notification n on n.run_id = r.id and n.kind = 'run'
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
    notification: row.notification_state
      ? {
          state: row.notification_state,
          reason:
            row.notification_state === 'skipped' || row.notification_state === 'failed'
              ? row.notification_error
              : null,
          sentAt: row.notification_sent_at === null ? null : isoTime(row.notification_sent_at),
        }
      : null,
    approval: approvalOf(row.approval),
    triggerApproval: approvalOf(row.trigger_approval),
    source: row.source,
  };
}

/**
 * One run with its counts, error summary and threshold figures; another organisation's run is NOT_FOUND.
 * It reads through `api_run_details`, RUN_DETAILS_SELECT in a plpgsql function, whose plan PostgreSQL
 * keeps per connection: planned afresh under row-level security, the join cost several times its run.
 * `scope` as for `listRuns`.
 */
export async function getRunDetails(em: EntityManager, scope: ReadScope, runId: string): Promise<RunDetails> {
  if (!isUuid(runId)) throw new DomainError('NOT_FOUND', `Run ${runId} not found`);
  const [[row]] = await readInOrganisation<[RunDetailRow[]]>(em, scope, [
    { sql: 'select * from api_run_details(?, ?)', params: [runId, scopeOrganisation(scope)] },
  ]);
  if (!row) throw new DomainError('NOT_FOUND', `Run ${runId} not found`);
  return runDetailsOf(row);
}

/**
 * The configuration filter's choices: every configuration of the organisation, by name, and whether its
 * schedule is paused (circuit breaker, or support).
 */
export async function listConfigurationChoices(
  em: EntityManager,
  organisationId: string,
): Promise<{ id: string; name: string; connector: Connector; paused: boolean }[]> {
  const [choices] = await readInOrganisation<
    [{ id: string; name: string; connector: Connector; paused: boolean }[]]
  >(em, organisationId, [
    {
      sql: `select id, name, connector, paused_at is not null as paused from sync_configuration
        where organisation_id = ? order by lower(name), id`,
      params: [organisationId],
    },
  ]);
  return choices;
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
