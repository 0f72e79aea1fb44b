import { insertLogChunksSql } from '@provisioning/db/testing';
import type pg from 'pg';

/**
 * The benchmark's data, written with set-based SQL (generate_series) as the superuser: seeding through
 * the ORM would take longer than the whole benchmark may.
 *
 * 1M runs over two years, in queued order as a live table fills (so each organisation's rows are spread
 * over the whole heap, not clustered): every tenth belongs to the measured organisation (100k runs over
 * six configurations of uneven size), the rest to 99 others of three configurations each. Statuses are
 * a production-like mix, mostly success; cancelled is the rare one. Each configuration of the measured
 * organisation also has one queued and one in-progress run, the most there may be.
 */
export const TOTAL_RUNS = 1_000_000;
export const OTHER_ORGANISATIONS = 99;
const SPAN_DAYS = 730;

/** Share of runs per status, per mille, cumulative. */
const STATUS_MIX = `case
  when s.h_status < 860 then 'success'
  when s.h_status < 930 then 'needs_attention'
  when s.h_status < 970 then 'data_load_failed'
  when s.h_status < 995 then 'above_deactivation_threshold'
  else 'cancelled' end`;

/** The measured organisation's configurations: name and share of its runs (percent). */
const CONFIGURATIONS: [string, number][] = [
  ['Workday employees', 40],
  ['HR export (SFTP)', 25],
  ['Contractors (SFTP)', 15],
  ['Google Workspace', 10],
  ['Interns (SFTP)', 6],
  ['Legacy payroll', 4],
];

/** The configuration the "one configuration" case filters on: 10% of the organisation's runs. */
export const FILTERED_CONFIGURATION = 'Google Workspace';

export interface SeededRuns {
  configurationIds: Record<string, string>;
  runCount: number;
  organisationRunCount: number;
}

export async function seedRuns(client: pg.Client, organisationId: string, now: Date): Promise<SeededRuns> {
  // Neither the change-feed triggers (a NOTIFY per row) nor the foreign-key checks are wanted for a bulk
  // load whose rows are consistent by construction; change_xid and connector (the run's source) are set
  // directly instead.
  await client.query('begin');
  await client.query('set local session_replication_role = replica');
  await client.query(
    `insert into organisation (id, name, time_zone, provisioning_enabled, sync_service, created_at, updated_at)
     select gen_random_uuid(), 'Other organisation ' || i, 'UTC', true, 'user-sync', now(), now()
     from generate_series(1, $1::int) i`,
    [OTHER_ORGANISATIONS],
  );
  await client.query(
    `insert into sync_configuration (id, organisation_id, name, connector, settings, mapping, created_at, updated_at)
     select gen_random_uuid(), o.id, 'Configuration ' || k, 'sftp', '{}', '{}', now(), now()
     from organisation o cross join generate_series(1, 3) k where o.id <> $1`,
    [organisationId],
  );
  const configurationIds: Record<string, string> = {};
  let from = 0;
  await client.query(
    'create temp table bench_big_configuration (id uuid, connector text, lo int, hi int) on commit drop',
  );
  for (const [name, share] of CONFIGURATIONS) {
    const connector = name.includes('Workday')
      ? 'workday'
      : name.includes('Google')
        ? 'google-workspace'
        : 'sftp';
    const { rows } = await client.query<{ id: string }>(
      `insert into sync_configuration (id, organisation_id, name, connector, settings, mapping, created_at, updated_at)
       values (gen_random_uuid(), $1, $2, $3, '{}', '{}', now(), now()) returning id`,
      [organisationId, name, connector],
    );
    const id = rows[0]!.id;
    configurationIds[name] = id;
    await client.query('insert into bench_big_configuration values ($1, $2, $3, $4)', [
      id,
      connector,
      from,
      from + share,
    ]);
    from += share;
  }
  await client.query(
    `create temp table bench_other_configuration on commit drop as
     select id, organisation_id, (row_number() over (order by id))::int - 1 as n
     from sync_configuration where organisation_id <> $1`,
    [organisationId],
  );
  const { rows: others } = await client.query<{ n: number }>(
    'select count(*)::int as n from bench_other_configuration',
  );
  await client.query(
    `insert into sync_run (id, organisation_id, configuration_id, connector, status, trigger, queued_at, started_at,
       finished_at, duration_ms, created_count, updated_count, deactivated_count, unchanged_count,
       warning_count, error_count, rows_read, rows_planned, rows_applied, error_summary, attempt, change_xid)
     select gen_random_uuid(), coalesce(b.organisation_id, oc.organisation_id), coalesce(b.id, oc.id),
       coalesce(b.connector, 'sftp'),
       x.status, case when x.h_n % 10 = 0 then 'manual' else 'schedule' end,
       x.queued_at, x.queued_at + interval '2 seconds', x.queued_at + interval '2 seconds' + x.duration,
       (extract(epoch from x.duration) * 1000)::int,
       x.h_n % 40, x.h_n % 300, x.h_n % 15, x.rows - x.h_n % 355, x.h_n % 25,
       case when x.status = 'data_load_failed' then 1 else 0 end,
       x.rows, x.rows, case when x.status in ('success', 'needs_attention') then x.rows else 0 end,
       case when x.status = 'data_load_failed' then 'Could not connect to sftp.example.com: connection timed out' end,
       1, txid_current()
     from (
       select g, s.h_status, s.h_n, s.queued_at, ${STATUS_MIX} as status,
         make_interval(secs => 3 + s.h_n % 180) as duration, 2000 + s.h_n % 60000 as rows
       from generate_series(0, $1::int - 1) g
       cross join lateral (
         select abs(hashint4(g)) % 1000 as h_status, abs(hashint4(g * 7 + 1)) % 100000 as h_n,
           $2::timestamptz - make_interval(secs => ($1::int - g) * ($3::float8 * 86400 / $1::int))
             - make_interval(secs => abs(hashint4(g * 13 + 5)) % 300) as queued_at
       ) s
     ) x
     left join (
       select c.id, c.connector, c.lo, c.hi, $4::uuid as organisation_id from bench_big_configuration c
     ) b on x.g % 10 = 0 and abs(hashint4(x.g * 31 + 3)) % 100 >= b.lo and abs(hashint4(x.g * 31 + 3)) % 100 < b.hi
     left join bench_other_configuration oc on x.g % 10 <> 0 and oc.n = x.g % $5::int`,
    [TOTAL_RUNS, now, SPAN_DAYS, organisationId, others[0]!.n],
  );
  // One queued and one in-progress run per configuration of the organisation: the newest of its runs.
  await client.query(
    `insert into sync_run (id, organisation_id, configuration_id, connector, status, trigger, queued_at, started_at,
       rows_read, attempt, change_xid)
     select gen_random_uuid(), $1, c.id, c.connector, s.status, 'schedule', $2::timestamptz - make_interval(secs => s.age),
       case when s.status = 'in_progress' then $2::timestamptz - make_interval(secs => s.age - 1) end,
       case when s.status = 'in_progress' then 1200 else 0 end, 1, txid_current()
     from bench_big_configuration c
     cross join (values ('in_progress', 120), ('queued', 30)) s(status, age)`,
    [organisationId, now],
  );
  await client.query('commit');
  const { rows: counts } = await client.query<{ total: number; organisation: number }>(
    `select count(*)::int as total, count(*) filter (where organisation_id = $1)::int as organisation
     from sync_run`,
    [organisationId],
  );
  return {
    configurationIds,
    runCount: counts[0]!.total,
    organisationRunCount: counts[0]!.organisation,
  };
}

/**
 * `rows` log entries of one run, as a large sync writes them: mostly unchanged rows, some updates with
 * field changes, creations, deactivations, and a few skipped rows with a message and a hint.
 */
export async function seedLog(client: pg.Client, runId: string, rows: number): Promise<void> {
  await client.query(
    insertLogChunksSql(`
     select $1::uuid, g, g + 2, 'E' || lpad(g::text, 7, '0'), 'employee.' || g || '@example.com',
       'Employee ' || g || ' Surname' || (g % 997),
       a.action, a.outcome,
       case when a.action = 'update' then jsonb_build_object(
         'job_title', jsonb_build_object('before', 'Engineer ' || (g % 7), 'after', 'Senior engineer ' || (g % 7)),
         'department', jsonb_build_object('before', 'Sales, EMEA', 'after', 'Marketing "Growth"'))
       when a.action = 'create' then jsonb_build_object(
         'email', jsonb_build_object('before', null, 'after', 'employee.' || g || '@example.com'))
       end,
       case when a.action = 'skip' then 'Row ' || (g + 2) || ': manager_email "boss' || g || '@example" is not an email address'
            when a.action = 'deactivate' then 'No longer in the source file' end,
       case when a.action = 'skip' then 'Correct the manager''s email in the HR export, then run the sync again' end
     from generate_series(0, $2::int - 1) g
     cross join lateral (
       select case
         when abs(hashint4(g)) % 100 < 72 then 'unchanged'
         when abs(hashint4(g)) % 100 < 87 then 'update'
         when abs(hashint4(g)) % 100 < 93 then 'create'
         when abs(hashint4(g)) % 100 < 96 then 'deactivate'
         when abs(hashint4(g)) % 100 < 97 then 'reactivate'
         else 'skip' end as action
     ) k
     cross join lateral (
       select k.action, case k.action when 'unchanged' then 'no_change' when 'skip' then 'warning' else 'applied' end as outcome
     ) a`),
    [runId, rows],
  );
}
