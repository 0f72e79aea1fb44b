import { randomBytes } from 'node:crypto';
import {
  CONNECTORS,
  type Connector,
  DomainError,
  RUN_STATUSES,
  type RunListFilterInput,
  type RunListInput,
  type RunStatus,
} from '@provisioning/shared';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_DATABASE_ROLE, createOrm, type Orm } from '../orm.ts';
import * as seed from '../testing/seed.ts';
import { createMigratedTestOrm, type MigratedTestOrm, testDatabaseKind } from '../testing/test-database.ts';
import { inOrganisation, sql } from './common.ts';
import {
  getRunDetails,
  listConfigurationChoices,
  listRuns,
  RUN_CHANGES_REPLAY_LIMIT,
  type RunPage,
  runChangesSince,
} from './run-list.repository.ts';
import { getRunDetailsForSupport } from './sync-run.repository.ts';

/**
 * The embedded database serves one session for every connection, so what needs two at once (a
 * connection-wide role, a transaction held open while another commits) is tried on a server only.
 */
const onServer = (await testDatabaseKind()) === 'server';

let database: MigratedTestOrm;
/** The owner: seeds rows (row-level security does not apply to it) and calls the reads. */
let orm: Orm;
/** Connects as the API does: on a server every connection switches to the API's role. */
let appOrm: Orm;

beforeAll(async () => {
  database = await createMigratedTestOrm('run_list_repository');
  orm = database.orm;
  appOrm = await createOrm({
    databaseUrl: database.apiUrl,
    ...(onServer ? { role: API_DATABASE_ROLE } : {}),
  });
});

/** A transaction as the API's role with no organisation named. */
function asApiRole<T>(fn: (em: ReturnType<Orm['em']['fork']>) => Promise<T>): Promise<T> {
  return appOrm.em.fork().transactional(async (tx) => {
    await tx.execute(`set local role ${API_DATABASE_ROLE}`);
    return fn(tx);
  });
}

afterAll(async () => {
  await appOrm?.close(true);
  await database?.close();
});

/** An organisation (without accounts) in `timeZone`. */
async function seedOrganisation(timeZone = 'UTC'): Promise<string> {
  return (await seed.seedOrganisation(orm, { name: 'Organisation', roles: [], timeZone })).id;
}

function seedConfiguration(organisationId: string, name = 'HR file', connector?: Connector): Promise<string> {
  return seed.seedConfiguration(orm, organisationId, name, connector);
}

/**
 * A run queued at `queuedAt` (any form PostgreSQL reads as a timestamptz, to the microsecond), by
 * default a success that created 3 users and deactivated 1.
 */
function seedRun(
  organisationId: string,
  configurationId: string,
  queuedAt: string,
  options: Partial<Pick<seed.SeedRun, 'status' | 'id' | 'thresholdDetails' | 'errorSummary'>> = {},
): Promise<string> {
  const { status = 'success', ...rest } = options;
  return seed.seedRun(orm, {
    organisationId,
    configurationId,
    queuedAt,
    status,
    counts: { created: 3, deactivated: 1 },
    ...rest,
  });
}

/** An organisation in `timeZone` with one configuration and a run at each of `queuedAt`. */
async function organisationWithRuns(
  timeZone: string,
  queuedAt: readonly string[],
): Promise<{ organisationId: string; configurationId: string; runs: string[] }> {
  const organisationId = await seedOrganisation(timeZone);
  const configurationId = await seedConfiguration(organisationId);
  const runs: string[] = [];
  for (const at of queuedAt) runs.push(await seedRun(organisationId, configurationId, at));
  return { organisationId, configurationId, runs };
}

function ids(page: RunPage): string[] {
  return page.runs.map((run) => run.id);
}

async function listIds(
  organisationId: string,
  filter: RunListFilterInput,
  now?: Date,
  limit = 200,
): Promise<string[]> {
  return ids(await listRuns(orm.em.fork(), organisationId, { filter, limit }, now));
}

/** Every page, following `nextCursor`; fails rather than loops if the cursor never ends. */
async function walkPages(
  organisationId: string,
  input: RunListInput,
  between?: (pageNumber: number) => Promise<void>,
): Promise<{ pages: string[][]; lastCursor: string | null }> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  for (let pageNumber = 1; pageNumber <= 100; pageNumber += 1) {
    const page = await listRuns(orm.em.fork(), organisationId, { ...input, cursor });
    pages.push(ids(page));
    if (page.nextCursor === null) return { pages, lastCursor: page.nextCursor };
    cursor = page.nextCursor;
    await between?.(pageNumber);
  }
  throw new Error('the cursor never reached a last page');
}

/** The DomainError a promise rejects with; fails the test when it resolves or rejects with anything else. */
async function domainError(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

/** An error a promise rejects with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

function cursorOf(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('listRuns date presets', () => {
  it('counts the last 7 days as today and the six days before it in London, across the spring DST change', async () => {
    // 2 April 2024, 13:00 BST. The window starts at midnight GMT on 27 March; clocks went forward on 31 March.
    const now = new Date('2024-04-02T12:00:00Z');
    const {
      organisationId,
      runs: [dayBefore, beforeAtOffsetOfNow, firstInstant, dstDay, lateYesterdayLocal, today],
    } = await organisationWithRuns('Europe/London', [
      '2024-03-26T23:59:59.999Z', // 23:59:59.999 GMT on 26 March: the day before the window
      '2024-03-26T23:30:00Z', // 23:30 GMT on 26 March: inside only if the window used now's offset (+01)
      '2024-03-27T00:00:00Z', // 00:00 GMT on 27 March: the window's first instant
      '2024-03-31T01:30:00Z', // 02:30 BST on 31 March, just after the clocks went forward
      '2024-04-01T23:30:00Z', // 00:30 BST on 2 April: today, although the UTC date is 1 April
      '2024-04-02T11:00:00Z',
    ]);
    expect(await listIds(organisationId, { range: 'last7' }, now)).toEqual([
      today,
      lateYesterdayLocal,
      dstDay,
      firstInstant,
    ]);
    expect(await listIds(organisationId, { range: 'all' }, now)).toEqual([
      today,
      lateYesterdayLocal,
      dstDay,
      firstInstant,
      dayBefore,
      beforeAtOffsetOfNow,
    ]);
  });

  it('counts the last 30 days as today and the 29 days before it in London', async () => {
    // From 2 April 2024 back to 4 March (GMT, before the clocks went forward).
    const now = new Date('2024-04-02T12:00:00Z');
    const {
      organisationId,
      runs: [, firstInstant, middle, today],
    } = await organisationWithRuns('Europe/London', [
      '2024-03-03T23:59:59.999Z',
      '2024-03-04T00:00:00Z',
      '2024-03-20T09:00:00Z',
      '2024-04-02T08:00:00Z',
    ]);
    expect(await listIds(organisationId, { range: 'last30' }, now)).toEqual([today, middle, firstInstant]);
  });

  it('starts the last 7 days at local midnight in London when the window opens on the autumn DST day', async () => {
    // 2 November 2024 (GMT); the window's first day, 27 October, began at 00:00 BST = 26 October 23:00 UTC.
    const now = new Date('2024-11-02T10:00:00Z');
    const {
      organisationId,
      runs: [, firstInstant, today],
    } = await organisationWithRuns('Europe/London', [
      '2024-10-26T22:59:59.999Z',
      '2024-10-26T23:00:00Z',
      '2024-11-02T09:00:00Z',
    ]);
    expect(await listIds(organisationId, { range: 'last7' }, now)).toEqual([today, firstInstant]);
  });

  it('takes today from the local date in New York when the UTC date is already tomorrow', async () => {
    // 15 March 2024 03:00 UTC is 14 March 23:00 EDT: the window is 8–14 March, opening at 00:00 EST.
    const now = new Date('2024-03-15T03:00:00Z');
    const {
      organisationId,
      runs: [, firstInstant, afterDst, today],
    } = await organisationWithRuns('America/New_York', [
      '2024-03-08T04:59:59.999Z', // 23:59:59.999 EST on 7 March
      '2024-03-08T05:00:00Z', // 00:00 EST on 8 March
      '2024-03-11T12:00:00Z', // the clocks went forward on 10 March
      '2024-03-15T02:00:00Z', // 22:00 EDT on 14 March
    ]);
    expect(await listIds(organisationId, { range: 'last7' }, now)).toEqual([today, afterDst, firstInstant]);
  });

  it('takes today from the local date in Auckland when the UTC date is still yesterday', async () => {
    // 10 June 2024 20:00 UTC is 11 June 08:00 NZST (+12): the window is 5–11 June, opening 4 June 12:00 UTC.
    const now = new Date('2024-06-10T20:00:00Z');
    const {
      organisationId,
      runs: [, firstInstant, today],
    } = await organisationWithRuns('Pacific/Auckland', [
      '2024-06-04T11:59:59.999Z',
      '2024-06-04T12:00:00Z',
      '2024-06-10T19:00:00Z',
    ]);
    expect(await listIds(organisationId, { range: 'last7' }, now)).toEqual([today, firstInstant]);
  });

  it('opens the last 30 days in Auckland at midnight daylight time when the clocks have since gone back', async () => {
    // 20 April 2024 NZST (+12); the window's first day, 22 March, began at 00:00 NZDT (+13) = 21 March 11:00 UTC.
    const now = new Date('2024-04-20T00:00:00Z');
    const {
      organisationId,
      runs: [, firstInstant, today],
    } = await organisationWithRuns('Pacific/Auckland', [
      '2024-03-21T10:59:59.999Z',
      '2024-03-21T11:00:00Z',
      '2024-04-19T23:00:00Z',
    ]);
    expect(await listIds(organisationId, { range: 'last30' }, now)).toEqual([today, firstInstant]);
  });

  it('returns every run of the organisation for the whole range, whatever now is', async () => {
    const {
      organisationId,
      runs: [old, older, recent],
    } = await organisationWithRuns('Europe/London', [
      '2021-01-01T00:00:00Z',
      '2019-06-30T12:00:00Z',
      '2024-04-02T11:00:00Z',
    ]);
    const now = new Date('2024-04-02T12:00:00Z');
    expect(await listIds(organisationId, { range: 'all' }, now)).toEqual([recent, old, older]);
    expect(await listIds(organisationId, {}, now)).toEqual([recent, old, older]);
  });
});

describe('listRuns with a time zone only the runtime knows', () => {
  it('reads the dates in UTC instead of failing, for an organisation whose zone PostgreSQL lacks', async () => {
    const now = new Date('2024-04-02T12:00:00Z');
    const {
      organisationId,
      runs: [before, first, today],
    } = await organisationWithRuns('UTC', [
      '2024-03-26T23:59:59Z',
      '2024-03-27T00:00:00Z',
      '2024-04-02T11:00:00Z',
    ]);
    // Set before zones were checked against the database: the runtime accepts it, PostgreSQL does not.
    await sql(orm.em.fork(), `update organisation set time_zone = 'US/Pacific-New' where id = ?`, [
      organisationId,
    ]);
    expect(await listIds(organisationId, { range: 'last7' }, now)).toEqual([today, first]);
    expect(
      await listIds(organisationId, { range: 'custom', from: '2024-03-26', to: '2024-03-26' }, now),
    ).toEqual([before]);
  });
});

describe('listRuns custom range', () => {
  it('includes both days from the first instant of from to the last instant of to in the organisation’s zone', async () => {
    // New York in January is EST (-05): 10 January starts at 05:00 UTC; 12 January ends before 13 January 05:00 UTC.
    const {
      organisationId,
      runs: [, first, middle, last],
    } = await organisationWithRuns('America/New_York', [
      '2024-01-10T04:59:59.999Z',
      '2024-01-10T05:00:00Z',
      '2024-01-11T18:00:00Z',
      '2024-01-13T04:59:59.999Z',
      '2024-01-13T05:00:00Z',
    ]);
    expect(
      await listIds(organisationId, {
        range: 'custom',
        from: '2024-01-10',
        to: '2024-01-12',
        sort: 'oldest',
      }),
    ).toEqual([first, middle, last]);
  });

  it('returns only that local day for a single-day range', async () => {
    const {
      organisationId,
      runs: [, start, end],
    } = await organisationWithRuns('Pacific/Auckland', [
      '2024-06-04T11:59:59.999Z', // 4 June 23:59:59.999 NZST
      '2024-06-04T12:00:00Z', // 5 June 00:00
      '2024-06-05T11:59:59.999Z', // 5 June 23:59:59.999
      '2024-06-05T12:00:00Z', // 6 June 00:00
    ]);
    expect(await listIds(organisationId, { range: 'custom', from: '2024-06-05', to: '2024-06-05' })).toEqual([
      end,
      start,
    ]);
  });

  it('covers all 25 hours of the day the clocks go back', async () => {
    // London, 27 October 2024: 00:00 BST (26 October 23:00 UTC) to 24:00 GMT (28 October 00:00 UTC).
    const {
      organisationId,
      runs: [, first, firstOneThirty, secondOneThirty, last],
    } = await organisationWithRuns('Europe/London', [
      '2024-10-26T22:59:59.999Z',
      '2024-10-26T23:00:00Z',
      '2024-10-27T00:30:00Z', // 01:30 BST
      '2024-10-27T01:30:00Z', // 01:30 GMT, the repeated hour
      '2024-10-27T23:59:59.999Z',
      '2024-10-28T00:00:00Z',
    ]);
    expect(
      await listIds(organisationId, {
        range: 'custom',
        from: '2024-10-27',
        to: '2024-10-27',
        sort: 'oldest',
      }),
    ).toEqual([first, firstOneThirty, secondOneThirty, last]);
  });

  it('refuses a range whose last day is before its first day', async () => {
    const organisationId = await seedOrganisation();
    const error = await domainError(
      listRuns(orm.em.fork(), organisationId, {
        filter: { range: 'custom', from: '2024-03-02', to: '2024-03-01' },
      }),
    );
    expect(error.code).toBe('BAD_INPUT');
    expect(error.fieldErrors).toEqual({ 'filter.to': ['The last day must not be before the first day'] });
  });

  it('refuses a custom range without its first or last day', async () => {
    const organisationId = await seedOrganisation();
    const neither = await domainError(
      listRuns(orm.em.fork(), organisationId, { filter: { range: 'custom' } }),
    );
    expect(neither.code).toBe('BAD_INPUT');
    expect(Object.keys(neither.fieldErrors).sort()).toEqual(['filter.from', 'filter.to']);
    const noTo = await domainError(
      listRuns(orm.em.fork(), organisationId, { filter: { range: 'custom', from: '2024-03-01' } }),
    );
    expect(Object.keys(noTo.fieldErrors)).toEqual(['filter.to']);
  });

  it('refuses a first or last day with a range that is not custom', async () => {
    const organisationId = await seedOrganisation();
    const error = await domainError(
      listRuns(orm.em.fork(), organisationId, {
        filter: { range: 'last7', from: '2024-03-01', to: '2024-03-02' },
      }),
    );
    expect(error.code).toBe('BAD_INPUT');
    expect(Object.keys(error.fieldErrors).sort()).toEqual(['filter.from', 'filter.to']);
    const all = await domainError(listRuns(orm.em.fork(), organisationId, { filter: { to: '2024-03-02' } }));
    expect(Object.keys(all.fieldErrors)).toEqual(['filter.to']);
  });

  it.each([
    ['a day that does not exist', '2024-02-30'],
    ['a month that does not exist', '2024-13-01'],
    ['a word', 'yesterday'],
    ['a date with trailing characters', '2024-01-011'],
    ['a very long string', '2'.repeat(10_000)],
    ['a date with a time', '2024-01-01T00:00:00Z'],
  ])('refuses %s as the first day with a field error', async (_label, from) => {
    const organisationId = await seedOrganisation();
    const error = await domainError(
      listRuns(orm.em.fork(), organisationId, { filter: { range: 'custom', from, to: '2024-12-31' } }),
    );
    expect(error.code).toBe('BAD_INPUT');
    expect(error.fieldErrors['filter.from']).toEqual([
      from.length > 10
        ? 'Use a date in the form YYYY-MM-DD'
        : `"${from}" is not a date in the form YYYY-MM-DD`,
    ]);
    expect(error.message).toContain('filter.from');
    // A very long value is not echoed back in full.
    expect(error.message.length).toBeLessThan(500);
  });
});

describe('listRuns status and configuration filters', () => {
  async function organisationWithEveryStatus() {
    const organisationId = await seedOrganisation();
    const configurationId = await seedConfiguration(organisationId);
    const byStatus = {} as Record<RunStatus, string>;
    for (const [index, status] of RUN_STATUSES.entries()) {
      byStatus[status] = await seedRun(organisationId, configurationId, `2024-05-0${index + 1}T10:00:00Z`, {
        status,
      });
    }
    return { organisationId, configurationId, byStatus };
  }

  it('returns only the runs of one status', async () => {
    const { organisationId, byStatus } = await organisationWithEveryStatus();
    expect(await listIds(organisationId, { statuses: ['needs_attention'] })).toEqual([
      byStatus.needs_attention,
    ]);
  });

  it('returns the runs of any of several statuses, newest first', async () => {
    const { organisationId, byStatus } = await organisationWithEveryStatus();
    expect(await listIds(organisationId, { statuses: ['queued', 'data_load_failed', 'cancelled'] })).toEqual([
      byStatus.cancelled,
      byStatus.data_load_failed,
      byStatus.queued,
    ]);
  });

  it('treats a status given twice as given once', async () => {
    const { organisationId, byStatus } = await organisationWithEveryStatus();
    expect(await listIds(organisationId, { statuses: ['success', 'success', 'in_progress'] })).toEqual([
      byStatus.success,
      byStatus.in_progress,
    ]);
  });

  it('returns every run when no status is chosen', async () => {
    const { organisationId, byStatus } = await organisationWithEveryStatus();
    expect(await listIds(organisationId, { statuses: [] })).toEqual(
      [...RUN_STATUSES].reverse().map((status) => byStatus[status]),
    );
  });

  it('refuses an unknown status with a field error', async () => {
    const organisationId = await seedOrganisation();
    const error = await domainError(
      listRuns(orm.em.fork(), organisationId, {
        filter: { statuses: ['success', 'done' as RunStatus] },
      }),
    );
    expect(error.code).toBe('BAD_INPUT');
    expect(Object.keys(error.fieldErrors)).toEqual(['filter.statuses.1']);
  });

  it('returns only the runs of the chosen configuration, with the status filter too', async () => {
    const organisationId = await seedOrganisation();
    const files = await seedConfiguration(organisationId, 'HR file');
    const workday = await seedConfiguration(organisationId, 'Workday', 'workday');
    const fileSuccess = await seedRun(organisationId, files, '2024-05-01T10:00:00Z');
    const workdaySuccess = await seedRun(organisationId, workday, '2024-05-02T10:00:00Z');
    const workdayFailed = await seedRun(organisationId, workday, '2024-05-03T10:00:00Z', {
      status: 'data_load_failed',
    });
    const page = await listRuns(orm.em.fork(), organisationId, { filter: { configurationId: workday } });
    expect(ids(page)).toEqual([workdayFailed, workdaySuccess]);
    expect(page.runs.map((run) => [run.configurationName, run.connector])).toEqual([
      ['Workday', 'workday'],
      ['Workday', 'workday'],
    ]);
    expect(await listIds(organisationId, { configurationId: workday, statuses: ['success'] })).toEqual([
      workdaySuccess,
    ]);
    expect(await listIds(organisationId, { configurationId: files })).toEqual([fileSuccess]);
  });

  it('returns no rows for another organisation’s configuration', async () => {
    const mine = await organisationWithRuns('UTC', ['2024-05-01T10:00:00Z']);
    const theirs = await organisationWithRuns('UTC', ['2024-05-01T10:00:00Z']);
    expect(await listIds(mine.organisationId, { configurationId: theirs.configurationId })).toEqual([]);
  });

  it('refuses a configuration ID that is not a UUID', async () => {
    const organisationId = await seedOrganisation();
    const error = await domainError(
      listRuns(orm.em.fork(), organisationId, { filter: { configurationId: "x' or 1=1 --" } }),
    );
    expect(error.code).toBe('BAD_INPUT');
    expect(Object.keys(error.fieldErrors)).toEqual(['filter.configurationId']);
  });
});

describe('listRuns source filter', () => {
  /**
   * An organisation with a configuration of each source and runs of several statuses of each, a day apart
   * in the order given: `runs[source][status]`.
   */
  async function organisationWithEverySource() {
    const organisationId = await seedOrganisation();
    const configurations: Record<Connector, string> = {
      sftp: await seedConfiguration(organisationId, 'HR file', 'sftp'),
      workday: await seedConfiguration(organisationId, 'Workday', 'workday'),
      'google-workspace': await seedConfiguration(organisationId, 'Google', 'google-workspace'),
    };
    const statuses = ['success', 'data_load_failed', 'cancelled'] as const;
    const runs = {} as Record<Connector, Record<(typeof statuses)[number], string>>;
    const all: string[] = [];
    let day = 1;
    for (const source of CONNECTORS) {
      runs[source] = {} as (typeof runs)[Connector];
      for (const status of statuses) {
        const at = `2024-05-${String(day++).padStart(2, '0')}T10:00:00Z`;
        runs[source][status] = await seedRun(organisationId, configurations[source], at, { status });
        all.push(runs[source][status]);
      }
    }
    return { organisationId, configurations, runs, newestFirst: [...all].reverse() };
  }

  it('returns only the runs of each source, newest first, each row naming its source', async () => {
    const { organisationId, runs } = await organisationWithEverySource();
    for (const source of CONNECTORS) {
      const page = await listRuns(orm.em.fork(), organisationId, { filter: { sources: [source] } });
      expect(ids(page), source).toEqual([
        runs[source].cancelled,
        runs[source].data_load_failed,
        runs[source].success,
      ]);
      expect(new Set(page.runs.map((run) => run.connector)), source).toEqual(new Set([source]));
    }
  });

  it('returns the runs of any of several sources, in one order', async () => {
    const { organisationId, runs } = await organisationWithEverySource();
    expect(await listIds(organisationId, { sources: ['sftp', 'google-workspace'] })).toEqual([
      runs['google-workspace'].cancelled,
      runs['google-workspace'].data_load_failed,
      runs['google-workspace'].success,
      runs.sftp.cancelled,
      runs.sftp.data_load_failed,
      runs.sftp.success,
    ]);
    expect(await listIds(organisationId, { sources: ['workday', 'sftp'], sort: 'oldest' })).toEqual([
      runs.sftp.success,
      runs.sftp.data_load_failed,
      runs.sftp.cancelled,
      runs.workday.success,
      runs.workday.data_load_failed,
      runs.workday.cancelled,
    ]);
  });

  it('returns every run when no source or every source is chosen', async () => {
    const { organisationId, newestFirst } = await organisationWithEverySource();
    expect(await listIds(organisationId, { sources: [] })).toEqual(newestFirst);
    expect(await listIds(organisationId, { sources: [...CONNECTORS] })).toEqual(newestFirst);
    expect(await listIds(organisationId, { sources: [...CONNECTORS], statuses: [...RUN_STATUSES] })).toEqual(
      newestFirst,
    );
  });

  it('combines sources with statuses, a configuration and a date range', async () => {
    const { organisationId, configurations, runs } = await organisationWithEverySource();
    expect(
      await listIds(organisationId, {
        sources: ['workday', 'google-workspace'],
        statuses: ['cancelled', 'data_load_failed'],
      }),
    ).toEqual([
      runs['google-workspace'].cancelled,
      runs['google-workspace'].data_load_failed,
      runs.workday.cancelled,
      runs.workday.data_load_failed,
    ]);
    expect(await listIds(organisationId, { sources: ['workday'], statuses: ['success'] })).toEqual([
      runs.workday.success,
    ]);
    expect(
      await listIds(organisationId, { sources: ['workday'], configurationId: configurations.workday }),
    ).toEqual([runs.workday.cancelled, runs.workday.data_load_failed, runs.workday.success]);
    // A configuration of another source: nothing matches both.
    expect(
      await listIds(organisationId, { sources: ['workday'], configurationId: configurations.sftp }),
    ).toEqual([]);
    // Days 4 to 7: Workday's three runs and Google's first.
    expect(
      await listIds(organisationId, {
        range: 'custom',
        from: '2024-05-04',
        to: '2024-05-07',
        sources: ['google-workspace', 'workday'],
        statuses: ['success', 'cancelled'],
        sort: 'oldest',
      }),
    ).toEqual([runs.workday.success, runs.workday.cancelled, runs['google-workspace'].success]);
  });

  it('pages through several sources and statuses without repeats or gaps, runs of one instant included', async () => {
    const organisationId = await seedOrganisation();
    const workday = await seedConfiguration(organisationId, 'Workday', 'workday');
    const google = await seedConfiguration(organisationId, 'Google', 'google-workspace');
    const sftp = await seedConfiguration(organisationId, 'HR file', 'sftp');
    const wanted: { id: string; at: string }[] = [];
    const sameInstant = '2024-05-10T10:00:00Z';
    for (let index = 0; index < 12; index += 1) {
      // Every fourth run at one instant, across sources and statuses, so ties are broken by ID across branches.
      const at = index % 4 === 0 ? sameInstant : `2024-05-${String(index + 11).padStart(2, '0')}T10:00:00Z`;
      const status: RunStatus =
        index % 3 === 0 ? 'success' : index % 3 === 1 ? 'needs_attention' : 'cancelled';
      const configuration = [workday, google, sftp][index % 3]!;
      const id = await seedRun(organisationId, configuration, at, { status });
      if (configuration !== sftp && status !== 'cancelled') wanted.push({ id, at });
    }
    const byOldest = wanted
      .sort((a, b) => (a.at === b.at ? (a.id < b.id ? -1 : 1) : a.at < b.at ? -1 : 1))
      .map((run) => run.id);
    expect(byOldest.length).toBeGreaterThan(4);
    const filter: RunListFilterInput = {
      sources: ['workday', 'google-workspace'],
      statuses: ['success', 'needs_attention'],
    };
    for (const limit of [1, 2, 3]) {
      const newest = await walkPages(organisationId, { filter, limit });
      expect(newest.pages.flat(), `newest, pages of ${limit}`).toEqual([...byOldest].reverse());
      const oldest = await walkPages(organisationId, { filter: { ...filter, sort: 'oldest' }, limit });
      expect(oldest.pages.flat(), `oldest, pages of ${limit}`).toEqual(byOldest);
    }
  });

  it('never lists another organisation’s runs of the chosen source', async () => {
    const mine = await organisationWithEverySource();
    const theirs = await organisationWithEverySource();
    const page = await listIds(mine.organisationId, { sources: ['workday'] });
    expect(page).toHaveLength(3);
    for (const id of Object.values(theirs.runs.workday)) expect(page).not.toContain(id);
    // Through the API's own role as well.
    const viaRole = await listRuns(appOrm.em.fork(), theirs.organisationId, {
      filter: { sources: ['workday'] },
    });
    expect(ids(viaRole)).toEqual(Object.values(theirs.runs.workday).reverse());
  });

  it('refuses an unknown source with a field error naming its place, and no database error', async () => {
    const organisationId = await seedOrganisation();
    for (const source of ['bamboohr', 'SFTP', "sftp' or 1=1 --", 'x'.repeat(10_000)]) {
      const error = await domainError(
        listRuns(orm.em.fork(), organisationId, { filter: { sources: ['sftp', source as Connector] } }),
      );
      expect(error.code).toBe('BAD_INPUT');
      expect(error.fieldErrors).toEqual({
        'filter.sources.1': ['Source must be one of: sftp, workday, google-workspace'],
      });
      expect(error.message.length).toBeLessThan(500);
    }
    const tooMany = await domainError(
      listRuns(orm.em.fork(), organisationId, {
        filter: { sources: Array.from({ length: 1000 }, () => 'sftp' as const) },
      }),
    );
    expect(tooMany.fieldErrors).toEqual({ 'filter.sources': ['Too many sources'] });
  });
});

describe('listRuns sorting', () => {
  it('lists newest first by default and oldest first when asked', async () => {
    const {
      organisationId,
      runs: [middle, oldest, newest],
    } = await organisationWithRuns('UTC', [
      '2024-05-02T10:00:00Z',
      '2024-05-01T10:00:00Z',
      '2024-05-03T10:00:00Z',
    ]);
    expect(await listIds(organisationId, {})).toEqual([newest, middle, oldest]);
    expect(await listIds(organisationId, { sort: 'newest' })).toEqual([newest, middle, oldest]);
    expect(await listIds(organisationId, { sort: 'oldest' })).toEqual([oldest, middle, newest]);
  });

  it('orders runs queued at the same instant by ID and pages through them without repeats or gaps', async () => {
    const sameInstant = '2024-05-02T10:00:00Z';
    const { organisationId, runs } = await organisationWithRuns('UTC', [
      '2024-05-01T10:00:00Z',
      sameInstant,
      sameInstant,
      sameInstant,
      sameInstant,
      '2024-05-03T10:00:00Z',
    ]);
    const [before, ...rest] = runs;
    const after = rest.pop()!;
    // PostgreSQL orders UUIDs byte by byte, which is the order of their lowercase hex text.
    const tied = [...rest].sort();
    const newest = [after, ...[...tied].reverse(), before!];
    const oldest = [before!, ...tied, after];
    expect(await listIds(organisationId, { sort: 'newest' })).toEqual(newest);
    expect(await listIds(organisationId, { sort: 'oldest' })).toEqual(oldest);
    for (const limit of [1, 2, 3]) {
      const byNewest = await walkPages(organisationId, { filter: { sort: 'newest' }, limit });
      expect(byNewest.pages.flat()).toEqual(newest);
      const byOldest = await walkPages(organisationId, { filter: { sort: 'oldest' }, limit });
      expect(byOldest.pages.flat()).toEqual(oldest);
    }
  });

  it('keeps runs a microsecond apart apart across pages', async () => {
    const {
      organisationId,
      runs: [first, second, third],
    } = await organisationWithRuns('UTC', [
      '2024-05-01 10:00:00.000001+00',
      '2024-05-01 10:00:00.000002+00',
      '2024-05-01 10:00:00.000003+00',
    ]);
    const byNewest = await walkPages(organisationId, { filter: { sort: 'newest' }, limit: 1 });
    expect(byNewest.pages).toEqual([[third], [second], [first]]);
    const byOldest = await walkPages(organisationId, { filter: { sort: 'oldest' }, limit: 1 });
    expect(byOldest.pages).toEqual([[first], [second], [third]]);
  });
});

describe('listRuns pagination', () => {
  it('returns every run exactly once, in order, walking pages of three', async () => {
    const queuedAt = Array.from(
      { length: 10 },
      (_, day) => `2024-05-${String(day + 1).padStart(2, '0')}T10:00:00Z`,
    );
    const { organisationId, runs } = await organisationWithRuns('UTC', queuedAt);
    const newest = [...runs].reverse();
    const { pages, lastCursor } = await walkPages(organisationId, { limit: 3 });
    expect(pages).toEqual([newest.slice(0, 3), newest.slice(3, 6), newest.slice(6, 9), newest.slice(9)]);
    expect(lastCursor).toBeNull();
    const byOldest = await walkPages(organisationId, { filter: { sort: 'oldest' }, limit: 3 });
    expect(byOldest.pages).toEqual([runs.slice(0, 3), runs.slice(3, 6), runs.slice(6, 9), runs.slice(9)]);
  });

  it('gives no next cursor on a full last page', async () => {
    const queuedAt = Array.from({ length: 6 }, (_, day) => `2024-05-0${day + 1}T10:00:00Z`);
    const { organisationId, runs } = await organisationWithRuns('UTC', queuedAt);
    const first = await listRuns(orm.em.fork(), organisationId, { limit: 3 });
    expect(ids(first)).toEqual(runs.slice(3).reverse());
    expect(first.nextCursor).not.toBeNull();
    const second = await listRuns(orm.em.fork(), organisationId, { limit: 3, cursor: first.nextCursor });
    expect(ids(second)).toEqual(runs.slice(0, 3).reverse());
    expect(second.nextCursor).toBeNull();
    const everything = await listRuns(orm.em.fork(), organisationId, { limit: 6 });
    expect(everything.nextCursor).toBeNull();
    const empty = await listRuns(orm.em.fork(), await seedOrganisation(), {});
    expect(empty).toEqual({ runs: [], nextCursor: null });
  });

  it('keeps the pages stable while new runs arrive between fetches, newest first', async () => {
    const queuedAt = Array.from({ length: 8 }, (_, day) => `2024-05-0${day + 1}T10:00:00Z`);
    const { organisationId, configurationId, runs } = await organisationWithRuns('UTC', queuedAt);
    const arrived: string[] = [];
    const { pages } = await walkPages(organisationId, { limit: 3 }, async (pageNumber) => {
      // Newer than every run listed so far, and one queued at the same instant as the newest.
      arrived.push(await seedRun(organisationId, configurationId, `2024-06-0${pageNumber}T10:00:00Z`));
      arrived.push(await seedRun(organisationId, configurationId, '2024-05-08T10:00:00Z'));
    });
    const newest = [...runs].reverse();
    expect(pages).toEqual([newest.slice(0, 3), newest.slice(3, 6), newest.slice(6)]);
    expect(arrived).toHaveLength(4);
    // The first page, fetched again, shows what arrived.
    const fresh = await listIds(organisationId, {});
    expect(fresh).toHaveLength(12);
    expect(fresh.slice(0, 2)).toEqual([arrived[2], arrived[0]]);
  });

  it('carries the filters across pages', async () => {
    const organisationId = await seedOrganisation('Europe/London');
    const configurationId = await seedConfiguration(organisationId);
    const wanted: string[] = [];
    for (let day = 1; day <= 9; day += 1) {
      const status: RunStatus = day % 2 === 0 ? 'success' : 'needs_attention';
      const id = await seedRun(organisationId, configurationId, `2024-05-0${day}T10:00:00Z`, { status });
      if (status === 'needs_attention' && day >= 3 && day <= 8) wanted.push(id);
    }
    const { pages } = await walkPages(organisationId, {
      filter: {
        range: 'custom',
        from: '2024-05-03',
        to: '2024-05-08',
        statuses: ['needs_attention'],
        sort: 'oldest',
      },
      limit: 2,
    });
    expect(pages).toEqual([wanted.slice(0, 2), wanted.slice(2)]);
  });

  it.each([
    ['random base64', randomBytes(48).toString('base64')],
    ['random base64url', randomBytes(48).toString('base64url')],
    ['text that is not base64', '%%%not a cursor%%%'],
    ['base64 of an object', cursorOf({ queuedAt: '2024-05-01 10:00:00+00', id: '1' })],
    ['base64 of null', cursorOf(null)],
    [
      'base64 of three items',
      cursorOf(['2024-05-01 10:00:00+00', '6f1c8f5e-0000-4000-8000-000000000000', 1]),
    ],
    ['base64 of numbers', cursorOf([1714557600000, 1])],
    ['a timestamp that is not one', cursorOf(['yesterday', '6f1c8f5e-0000-4000-8000-000000000000'])],
    [
      'a day that does not exist',
      cursorOf(['2024-02-30 10:00:00+00', '6f1c8f5e-0000-4000-8000-000000000000']),
    ],
    [
      'a month that does not exist',
      cursorOf(['2024-13-01 10:00:00+00', '6f1c8f5e-0000-4000-8000-000000000000']),
    ],
    [
      'an hour that does not exist',
      cursorOf(['2024-05-01 25:61:00+00', '6f1c8f5e-0000-4000-8000-000000000000']),
    ],
    ['year zero', cursorOf(['0000-01-01 00:00:00+00', '6f1c8f5e-0000-4000-8000-000000000000'])],
    ['an offset out of range', cursorOf(['2024-05-01 10:00:00+99', '6f1c8f5e-0000-4000-8000-000000000000'])],
    [
      'SQL in the timestamp',
      cursorOf(["2024-05-01 10:00:00+00'; drop table sync_run; --", '6f1c8f5e-0000-4000-8000-000000000000']),
    ],
    ['an ID that is not a UUID', cursorOf(['2024-05-01 10:00:00+00', 'not-a-uuid'])],
    ['a numeric ID', cursorOf(['2024-05-01 10:00:00+00', 42])],
  ])('refuses %s as the page cursor with BAD_INPUT, never a database error', async (_label, cursor) => {
    const { organisationId } = await organisationWithRuns('UTC', ['2024-05-01T10:00:00Z']);
    const error = await domainError(listRuns(orm.em.fork(), organisationId, { cursor }));
    expect(error.code).toBe('BAD_INPUT');
    expect(error.message).toMatch(/cursor/i);
    expect(Object.keys(error.fieldErrors)).toEqual(['cursor']);
  });

  it('accepts a cursor whose timestamp PostgreSQL printed with another offset', async () => {
    const {
      organisationId,
      runs: [nine, ten],
    } = await organisationWithRuns('UTC', [
      '2024-05-01T09:00:00Z',
      '2024-05-01T10:00:00Z',
      '2024-05-01T11:00:00Z',
    ]);
    // 15:30 at +05:30 is 10:00 UTC; the largest UUID puts every run of that instant before the cursor.
    const cursor = cursorOf(['2024-05-01 15:30:00.000000+05:30', 'ffffffff-ffff-4fff-bfff-ffffffffffff']);
    expect(ids(await listRuns(orm.em.fork(), organisationId, { cursor }))).toEqual([ten, nine]);
  });

  it('refuses a cursor too long to be one of ours', async () => {
    const organisationId = await seedOrganisation();
    const error = await domainError(listRuns(orm.em.fork(), organisationId, { cursor: 'a'.repeat(201) }));
    expect(error.code).toBe('BAD_INPUT');
    expect(Object.keys(error.fieldErrors)).toEqual(['cursor']);
  });

  it('accepts page sizes from 1 to 200 and refuses anything else', async () => {
    const queuedAt = Array.from({ length: 3 }, (_, day) => `2024-05-0${day + 1}T10:00:00Z`);
    const { organisationId, runs } = await organisationWithRuns('UTC', queuedAt);
    expect(ids(await listRuns(orm.em.fork(), organisationId, { limit: 1 }))).toEqual([runs[2]]);
    expect(ids(await listRuns(orm.em.fork(), organisationId, { limit: 200 }))).toEqual([...runs].reverse());
    expect(ids(await listRuns(orm.em.fork(), organisationId, {}))).toEqual([...runs].reverse());
    for (const limit of [0, -1, 201, 1.5, Number.NaN, '10' as unknown as number]) {
      const error = await domainError(listRuns(orm.em.fork(), organisationId, { limit }));
      expect(error.code).toBe('BAD_INPUT');
      expect(Object.keys(error.fieldErrors)).toEqual(['limit']);
    }
  });

  it('refuses unknown input keys instead of ignoring them', async () => {
    const organisationId = await seedOrganisation();
    const error = await domainError(
      listRuns(orm.em.fork(), organisationId, { filter: { status: ['success'] } } as unknown as RunListInput),
    );
    expect(error.code).toBe('BAD_INPUT');
    expect(Object.keys(error.fieldErrors)).toEqual(['filter']);
  });
});

describe('isolation between organisations', () => {
  it('never lists another organisation’s runs', async () => {
    const mine = await organisationWithRuns('UTC', ['2024-05-01T10:00:00Z', '2024-05-03T10:00:00Z']);
    const theirs = await organisationWithRuns('UTC', ['2024-05-02T10:00:00Z']);
    expect(await listIds(mine.organisationId, {})).toEqual([...mine.runs].reverse());
    expect(await listIds(theirs.organisationId, {})).toEqual(theirs.runs);
    // A cursor made on one organisation's list does not open the other's.
    const page = await listRuns(orm.em.fork(), mine.organisationId, { limit: 1 });
    expect(ids(await listRuns(orm.em.fork(), theirs.organisationId, { cursor: page.nextCursor }))).toEqual(
      theirs.runs,
    );
  });

  it('answers NOT_FOUND for an organisation that does not exist or is not an ID', async () => {
    for (const organisationId of ['6f1c8f5e-0000-4000-8000-000000000000', 'not-an-id']) {
      const error = await domainError(listRuns(orm.em.fork(), organisationId, {}));
      expect(error.code).toBe('NOT_FOUND');
    }
  });

  it('lists only the organisation’s own configurations as choices, by name', async () => {
    const organisationId = await seedOrganisation();
    const zeta = await seedConfiguration(organisationId, 'zeta file');
    const alpha = await seedConfiguration(organisationId, 'Alpha Workday', 'workday');
    const google = await seedConfiguration(organisationId, 'beta Google', 'google-workspace');
    const other = await seedOrganisation();
    await seedConfiguration(other, 'Aardvark');
    await orm.em.fork().execute(`update sync_configuration set paused_at = now() where id = ?`, [google]);
    expect(await listConfigurationChoices(orm.em.fork(), organisationId)).toEqual([
      { id: alpha, name: 'Alpha Workday', connector: 'workday', paused: false },
      { id: google, name: 'beta Google', connector: 'google-workspace', paused: true },
      { id: zeta, name: 'zeta file', connector: 'sftp', paused: false },
    ]);
  });

  it('gives a run’s details to its own organisation and NOT_FOUND to another', async () => {
    const mine = await organisationWithRuns('UTC', []);
    const run = await seedRun(mine.organisationId, mine.configurationId, '2024-05-01T10:00:00Z', {
      status: 'data_load_failed',
      errorSummary: 'The file was not found',
    });
    const details = await getRunDetails(orm.em.fork(), mine.organisationId, run);
    expect(details).toMatchObject({
      id: run,
      status: 'data_load_failed',
      configurationId: mine.configurationId,
      queuedAt: '2024-05-01T10:00:00.000Z',
      startedAt: '2024-05-01T10:00:01.000Z',
      finishedAt: '2024-05-01T10:00:05.000Z',
      durationMs: 4000,
      errorSummary: 'The file was not found',
      logKind: 'error',
      threshold: null,
    });
    expect(details.counts).toMatchObject({ created: 3, deactivated: 1 });
    const other = await seedOrganisation();
    const error = await domainError(getRunDetails(orm.em.fork(), other, run));
    expect(error.code).toBe('NOT_FOUND');
  });

  it.each([
    ['text', 'not-a-run'],
    ['an empty string', ''],
    ['SQL', "' or 1=1 --"],
    ['a UUID with extra characters', '6f1c8f5e-0000-4000-8000-000000000000x'],
    ['a UUID no run has', '6f1c8f5e-0000-4000-8000-000000000000'],
  ])('answers NOT_FOUND for a run ID that is %s', async (_label, runId) => {
    const { organisationId } = await organisationWithRuns('UTC', ['2024-05-01T10:00:00Z']);
    const error = await domainError(getRunDetails(orm.em.fork(), organisationId, runId));
    expect(error.code).toBe('NOT_FOUND');
  });

  it('keeps the threshold sample of people’s emails out of the run details', async () => {
    const { organisationId, configurationId } = await organisationWithRuns('UTC', []);
    const run = await seedRun(organisationId, configurationId, '2024-05-01T10:00:00Z', {
      status: 'above_deactivation_threshold',
      thresholdDetails: {
        plannedDeactivations: 201,
        activeManagedUsers: 1000,
        thresholdCount: 500,
        thresholdPercent: 20,
        sample: [
          { externalId: 'E-1', email: 'grace.hopper@acme.example' },
          { externalId: null, email: 'alan.turing@acme.example' },
        ],
      },
    });
    const details = await getRunDetails(orm.em.fork(), organisationId, run);
    expect(details.threshold).toEqual({
      plannedDeactivations: 201,
      activeManagedUsers: 1000,
      thresholdCount: 500,
      thresholdPercent: 20,
    });
    const text = JSON.stringify(details);
    expect(text).not.toContain('acme.example');
    expect(text).not.toContain('E-1');
    expect(text).not.toContain('sample');
  });

  it('reads a run’s details through its function exactly as RUN_DETAILS_SELECT reads them', async () => {
    const { organisationId, configurationId } = await organisationWithRuns('UTC', []);
    const blocked = await seedRun(organisationId, configurationId, '2024-05-01T10:00:00.123456Z', {
      status: 'above_deactivation_threshold',
      errorSummary: 'Too many deactivations',
      thresholdDetails: {
        plannedDeactivations: 201,
        activeManagedUsers: 1000,
        thresholdCount: 500,
        thresholdPercent: 20,
        sample: [],
      },
    });
    const approved = await seedRun(organisationId, configurationId, '2024-05-02T10:00:00Z');
    const owner = orm.em.fork();
    const [approval] = await owner.execute<{ id: string }[]>(
      `insert into sync_run_approval (id, blocked_run_id, approved_by, reason, approved_at, expires_at, used_by_run_id, outcome)
       values (gen_random_uuid(), ?, 'support@example.com', 'Expected leavers', '2024-05-01T11:00:00Z', '2024-05-02T11:00:00Z', ?, 'applied')
       returning id`,
      [blocked, approved],
    );
    await owner.execute(`update sync_run set trigger = 'approval', approval_id = ? where id = ?`, [
      approval!.id,
      approved,
    ]);
    await owner.execute(
      `update sync_run set log_purged_at = '2024-08-01T00:00:00Z', log_purge_retention_days = 90 where id = ?`,
      [approved],
    );
    await owner.execute(
      `insert into run_notification (run_id, organisation_id, status, state, updated_at) values (?, ?, 'success', 'sent', '2024-05-02T10:01:00Z')`,
      [approved, organisationId],
    );
    for (const runId of [blocked, approved]) {
      const viaFunction = await getRunDetails(appOrm.em.fork(), organisationId, runId);
      expect(JSON.stringify(viaFunction)).toBe(
        JSON.stringify(await getRunDetailsForSupport(orm.em.fork(), runId)),
      );
    }
    const details = await getRunDetails(appOrm.em.fork(), organisationId, approved);
    expect(details.triggerApproval).toMatchObject({ blockedRunId: blocked, outcome: 'applied' });
    expect(details.notification).toEqual({ state: 'sent', reason: null, sentAt: '2024-05-02T10:01:00.000Z' });
    expect(details.logPurge).toEqual({ purgedAt: '2024-08-01T00:00:00.000Z', retentionDays: 90 });
    expect((await getRunDetails(appOrm.em.fork(), organisationId, blocked)).approval).toMatchObject({
      usedByRunId: approved,
    });
  });
});

describe('row-level security under the API’s role', () => {
  async function seedTwoOrganisations() {
    const a = await organisationWithRuns('UTC', ['2024-05-01T10:00:00Z', '2024-05-02T10:00:00Z']);
    const b = await organisationWithRuns('UTC', ['2024-05-03T10:00:00Z']);
    const owner = orm.em.fork();
    for (const runId of [...a.runs, ...b.runs]) {
      await owner.execute(
        `insert into sync_log (run_id, seq, email, action, outcome) values (?, 0, 'someone@example.com', 'create', 'applied')`,
        [runId],
      );
    }
    return { a, b };
  }

  async function count(em: ReturnType<Orm['em']['fork']>, table: string): Promise<number> {
    const [row] = await em.execute<{ count: string | number }[]>(`select count(*) as count from ${table}`);
    return Number(row!.count);
  }

  it('shows no configurations, runs or logs when no organisation is set', async () => {
    const { a } = await seedTwoOrganisations();
    const owner = orm.em.fork();
    expect(await count(owner, 'sync_run')).toBeGreaterThan(0);
    expect(await count(owner, 'sync_log')).toBeGreaterThan(0);
    expect(await count(owner, 'sync_configuration')).toBeGreaterThan(0);
    await asApiRole(async (tx) => {
      expect(await count(tx, 'sync_run')).toBe(0);
      expect(await count(tx, 'sync_log')).toBe(0);
      expect(await count(tx, 'sync_configuration')).toBe(0);
    });
    // Also after an organisation's transaction has ended: its setting does not outlive it.
    await inOrganisation(appOrm.em.fork(), a.organisationId, async () => {});
    await asApiRole(async (tx) => {
      expect(await count(tx, 'sync_run')).toBe(0);
    });
  });

  it.runIf(onServer)(
    'runs the API’s connections themselves as its role, which sees nothing unscoped',
    async () => {
      await seedTwoOrganisations();
      const app = appOrm.em.fork();
      const [role] = await app.execute<{ current_user: string }[]>('select current_user');
      expect(role!.current_user).toBe(API_DATABASE_ROLE);
      expect(await count(app, 'sync_run')).toBe(0);
      expect(await count(app, 'sync_log')).toBe(0);
      expect(await count(app, 'sync_configuration')).toBe(0);
      await appOrm.em.fork().transactional(async (tx) => {
        expect(await count(tx, 'sync_run')).toBe(0);
      });
    },
  );

  it('shows only the organisation’s rows inside inOrganisation, even without a WHERE', async () => {
    const { a, b } = await seedTwoOrganisations();
    await inOrganisation(appOrm.em.fork(), a.organisationId, async (tx) => {
      const runs = await tx.execute<{ id: string; organisation_id: string }[]>('select * from sync_run');
      expect(runs.map((run) => run.id).sort()).toEqual([...a.runs].sort());
      const logs = await tx.execute<{ run_id: string }[]>('select * from sync_log');
      expect(logs.map((log) => log.run_id).sort()).toEqual([...a.runs].sort());
      const visibleOfB = await tx.execute('select * from sync_log where run_id = ?', [b.runs[0]]);
      expect(visibleOfB).toEqual([]);
      const configurations = await tx.execute<{ id: string }[]>('select id from sync_configuration');
      expect(configurations.map((configuration) => configuration.id)).toEqual([a.configurationId]);
    });
    // The reads on the API's own connections see the same, and the other organisation's run is NOT_FOUND.
    expect(ids(await listRuns(appOrm.em.fork(), a.organisationId, {}))).toEqual([...a.runs].reverse());
    const error = await domainError(getRunDetails(appOrm.em.fork(), a.organisationId, b.runs[0]!));
    expect(error.code).toBe('NOT_FOUND');
  });

  it('refuses the role any insert, update or delete of runs', async () => {
    const { a } = await seedTwoOrganisations();
    const statements: [string, unknown[]][] = [
      [
        `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at)
         values (gen_random_uuid(), ?, ?, 'queued', 'manual', now())`,
        [a.organisationId, a.configurationId],
      ],
      [`update sync_run set status = 'cancelled' where id = ?`, [a.runs[0]]],
      ['delete from sync_run where id = ?', [a.runs[0]]],
    ];
    for (const [sql, params] of statements) {
      const outside = await rejection(asApiRole((tx) => tx.execute(sql, params)));
      expect(outside.message).toMatch(/permission denied for table sync_run/);
      const inside = await rejection(
        inOrganisation(appOrm.em.fork(), a.organisationId, (tx) => tx.execute(sql, params)),
      );
      expect(inside.message).toMatch(/permission denied for table sync_run/);
    }
    const [row] = await orm.em
      .fork()
      .execute<{ status: string; count: string }[]>(
        'select min(status) as status, count(*) as count from sync_run where organisation_id = ?',
        [a.organisationId],
      );
    expect(row).toEqual({ status: 'success', count: '2' });
  });
});

describe('runChangesSince', () => {
  const stampOf = (changes: { runs: { id: string }[]; stamps: string[] }, runId: string) =>
    changes.stamps[changes.runs.findIndex((run) => run.id === runId)];

  it('returns a run inserted or updated after a resume point on the next call with that point', async () => {
    const { organisationId, configurationId, runs } = await organisationWithRuns('UTC', [
      '2024-05-01T10:00:00Z',
    ]);
    const [existing] = runs as [string];
    const start = await runChangesSince(orm.em.fork(), organisationId, null);
    expect(start.resumeFrom).toMatch(/^\d+$/);

    const inserted = await seedRun(organisationId, configurationId, '2024-05-02T10:00:00Z', {
      status: 'queued',
    });
    const afterInsert = await runChangesSince(orm.em.fork(), organisationId, start.resumeFrom);
    expect(afterInsert.overflow).toBe(false);
    expect(afterInsert.runs.map((run) => run.id)).toContain(inserted);
    expect(afterInsert.runs.find((run) => run.id === inserted)).toMatchObject({ status: 'queued' });
    for (const stamp of afterInsert.stamps)
      expect(BigInt(stamp)).toBeGreaterThanOrEqual(BigInt(start.resumeFrom));

    await orm.em
      .fork()
      .execute(`update sync_run set status = 'in_progress', rows_read = 42 where id = ?`, [inserted]);
    await orm.em.fork().execute(`update sync_run set rows_read = 7 where id = ?`, [existing]);
    const afterUpdate = await runChangesSince(orm.em.fork(), organisationId, afterInsert.resumeFrom);
    // Oldest change first: the order the updates committed in.
    expect(afterUpdate.runs.map((run) => run.id)).toEqual([inserted, existing]);
    expect(afterUpdate.runs.map((run) => [run.status, run.progress.read])).toEqual([
      ['in_progress', 42],
      ['success', 7],
    ]);
    expect(BigInt(stampOf(afterUpdate, inserted)!)).toBeLessThan(BigInt(stampOf(afterUpdate, existing)!));
  });

  it.runIf(onServer)(
    'returns a change committed while a long transaction is open early, again later, and never loses the long one',
    async () => {
      const { organisationId, runs } = await organisationWithRuns('UTC', [
        '2024-05-01T10:00:00Z',
        '2024-05-02T10:00:00Z',
      ]);
      const [quick, slow] = runs as [string, string];
      const long = new pg.Client({ connectionString: database.url });
      await long.connect();
      try {
        await long.query('begin');
        await long.query('update sync_run set rows_read = 9 where id = $1', [slow]);
        const xidRows = await long.query<{ xid: string }>('select pg_current_xact_id()::text as xid');
        const longXid = xidRows.rows[0]!.xid;

        const start = await runChangesSince(orm.em.fork(), organisationId, null);
        expect(BigInt(start.resumeFrom)).toBeLessThanOrEqual(BigInt(longXid));
        expect(start.runs.some((run) => run.progress.read === 9)).toBe(false);

        // Committed by another connection after the long transaction began.
        await orm.em.fork().execute('update sync_run set rows_read = 5 where id = ?', [quick]);

        const early = await runChangesSince(orm.em.fork(), organisationId, start.resumeFrom);
        expect(early.runs.filter((run) => run.id === quick).map((run) => run.progress.read)).toEqual([5]);
        const quickStamp = BigInt(stampOf(early, quick)!);
        // Returned before the resume point has passed it: the long transaction still holds the point back.
        expect(BigInt(early.resumeFrom)).toBeLessThanOrEqual(BigInt(longXid));
        expect(quickStamp).toBeGreaterThan(BigInt(early.resumeFrom));
        expect(early.runs.some((run) => run.progress.read === 9)).toBe(false);

        const again = await runChangesSince(orm.em.fork(), organisationId, early.resumeFrom);
        expect(again.runs.filter((run) => run.id === quick).map((run) => run.progress.read)).toEqual([5]);

        await long.query('commit');
        const afterCommit = await runChangesSince(orm.em.fork(), organisationId, again.resumeFrom);
        expect(afterCommit.runs.map((run) => run.id)).toEqual([slow, quick]);
        expect(afterCommit.runs.map((run) => run.progress.read)).toEqual([9, 5]);
        expect(afterCommit.stamps).toEqual([longXid, String(quickStamp)]);
      } finally {
        await long.end();
      }
    },
  );

  it('never returns another organisation’s changes', async () => {
    const mine = await organisationWithRuns('UTC', ['2024-05-01T10:00:00Z']);
    const theirs = await organisationWithRuns('UTC', ['2024-05-01T10:00:00Z']);
    const start = await runChangesSince(orm.em.fork(), mine.organisationId, null);
    await seedRun(theirs.organisationId, theirs.configurationId, '2024-05-02T10:00:00Z');
    await orm.em.fork().execute('update sync_run set rows_read = 3 where id = ?', [theirs.runs[0]]);
    const mineAdded = await seedRun(mine.organisationId, mine.configurationId, '2024-05-03T10:00:00Z');
    const changes = await runChangesSince(orm.em.fork(), mine.organisationId, start.resumeFrom);
    expect(changes.runs.map((run) => run.id)).toContain(mineAdded);
    for (const run of changes.runs) expect(mine.runs.concat(mineAdded)).toContain(run.id);
    // From the very beginning, still only the organisation's own runs.
    const everything = await runChangesSince(orm.em.fork(), mine.organisationId, '0');
    expect(everything.runs.map((run) => run.id)).toEqual([mine.runs[0], mineAdded]);
    // Through the API's own role as well.
    const viaRole = await runChangesSince(appOrm.em.fork(), mine.organisationId, '0');
    expect(viaRole.runs.map((run) => run.id)).toEqual([mine.runs[0], mineAdded]);
  });

  it.each([
    ['a word', 'latest'],
    ['a negative number', '-1'],
    ['a decimal', '1.5'],
    ['an empty string', ''],
    ['SQL', '1; drop table sync_run'],
    ['twenty digits', '12345678901234567890'],
    ['nineteen digits past the largest bigint', '9999999999999999999'],
  ])('refuses %s as the resume point with BAD_INPUT', async (_label, since) => {
    const organisationId = await seedOrganisation();
    const error = await domainError(runChangesSince(orm.em.fork(), organisationId, since));
    expect(error.code).toBe('BAD_INPUT');
  });

  it('answers overflow instead of replaying more changed runs than the limit', async () => {
    const organisationId = await seedOrganisation();
    const configurationId = await seedConfiguration(organisationId);
    const insertRuns = (count: number, from: number) =>
      orm.em.fork().execute(
        `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at)
         select gen_random_uuid(), ?, ?, 'success', 'schedule', timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute'
         from generate_series(?::int, ?::int) g`,
        [organisationId, configurationId, from, from + count - 1],
      );
    await insertRuns(RUN_CHANGES_REPLAY_LIMIT, 1);
    const atLimit = await runChangesSince(orm.em.fork(), organisationId, '0');
    expect(atLimit.overflow).toBe(false);
    expect(atLimit.runs).toHaveLength(RUN_CHANGES_REPLAY_LIMIT);
    expect(atLimit.stamps).toHaveLength(RUN_CHANGES_REPLAY_LIMIT);

    await insertRuns(1, RUN_CHANGES_REPLAY_LIMIT + 1);
    const pastLimit = await runChangesSince(orm.em.fork(), organisationId, '0');
    expect(pastLimit).toMatchObject({ runs: [], stamps: [], overflow: true });
    expect(pastLimit.resumeFrom).toMatch(/^\d+$/);
  });
});
