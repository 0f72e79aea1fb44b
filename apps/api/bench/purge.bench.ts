/**
 * `pnpm bench:purge`: the log-purge job at size, on the PostgreSQL at DATABASE_URL or 127.0.0.1:5432, in
 * a database of its own that is dropped at the end (also on failure or Ctrl-C).
 *
 * - Purge of 1M log lines (2,000 expired runs of 500 lines, 500 runs per transaction, purgeExpiredLogs as
 *   the job calls it) beside a bare `delete from sync_log_chunk` of the same rows in one statement.
 * - `runs.list` (listRuns on the API's role, first page of 50) p95 while the purge runs, beside idle, for
 *   an organisation of 50k runs: what an administrator looking at the page sees during the nightly purge.
 * Absolute times drift on shared machines: read the ratios.
 */
import {
  API_DATABASE_ROLE,
  createOrm,
  listRuns,
  migrate,
  type Orm,
  purgeExpiredLogs,
} from '@provisioning/db';
import { createTestDatabase, insertLogChunksSql, type TestDatabase } from '@provisioning/db/testing';
import { percentile, time } from '@provisioning/testkit';
import pg from 'pg';
import { seedOrganisation } from '../src/api-harness.test-support.ts';
import { ms, seconds } from './timing.ts';

const EXPIRED_RUNS = 2_000;
const LINES_PER_RUN = 500;
/** Runs of the organisation the list reads, over the last 200 days (the expired ones among them). */
const LISTED_RUNS = 50_000;
const IDLE_SAMPLES = 300;
/** At least this many list calls are timed during the purge (it is slowed to allow them, if need be). */
const MIN_DURING_SAMPLES = 30;

/** Runs over 200 days up to `now`, the oldest EXPIRED_RUNS of them ended 100-140 days ago (log past 90). */
async function seedRunsAndLogs(bare: pg.Client, organisationId: string, now: Date): Promise<void> {
  await bare.query('begin');
  // No NOTIFY per row nor per-row reference checks for a bulk load consistent by construction.
  await bare.query('set local session_replication_role = replica');
  const { rows } = await bare.query<{ id: string }>(
    `insert into sync_configuration (id, organisation_id, name, connector, settings, mapping, created_at, updated_at)
     values (gen_random_uuid(), $1, 'HR file', 'sftp', '{}', '{}', now(), now()) returning id`,
    [organisationId],
  );
  await bare.query(
    `insert into sync_run (id, organisation_id, configuration_id, connector, status, trigger, queued_at, started_at,
       finished_at, duration_ms, attempt, change_xid)
     select gen_random_uuid(), $1, $2, 'sftp', 'success', 'schedule', t, t + interval '1 second',
       t + interval '5 seconds', 4000, 1, txid_current()
     from generate_series(1, $3::int) g,
       lateral (select $4::timestamptz - case when g <= $5::int
         then interval '100 days' + g * interval '1 minute' * 28
         else (g - $5::int) * interval '1 minute' * 2 end as t) x`,
    [organisationId, rows[0]!.id, LISTED_RUNS, now, EXPIRED_RUNS],
  );
  await bare.query('commit');
  await seedLogs(bare, organisationId, now);
}

/** LINES_PER_RUN lines for each run whose log has expired: EXPIRED_RUNS × LINES_PER_RUN in all. */
async function seedLogs(bare: pg.Client, organisationId: string, now: Date): Promise<void> {
  await bare.query(
    insertLogChunksSql(`
      select r.id, g, g + 2, 'E' || g, 'employee.' || g || '@example.com', 'Employee ' || g,
        'update', 'applied',
        jsonb_build_object('job_title', jsonb_build_object('before', 'Engineer', 'after', 'Senior engineer')),
        null, null
      from sync_run r cross join generate_series(0, $3::int - 1) g
      where r.organisation_id = $1 and r.finished_at < $2::timestamptz - interval '90 days'`),
    [organisationId, now, LINES_PER_RUN],
  );
}

async function lineCount(bare: pg.Client): Promise<number> {
  const { rows } = await bare.query<{ lines: number }>(
    'select coalesce(sum(last_seq - first_seq + 1), 0)::int as lines from sync_log_chunk',
  );
  return rows[0]!.lines;
}

async function main() {
  const started = performance.now();
  const database: TestDatabase = await createTestDatabase('bench_purge');
  const dropOnInterrupt = () => void database.drop().finally(() => process.exit(130));
  process.once('SIGINT', dropOnInterrupt);
  let owner: Orm | undefined;
  let appOrm: Orm | undefined;
  const bare = new pg.Client({ connectionString: database.url });
  try {
    if (database.kind !== 'server')
      throw new Error('bench:purge needs a PostgreSQL server (DATABASE_URL or 127.0.0.1:5432)');
    owner = await createOrm({ databaseUrl: database.url, poolSize: 4 });
    await migrate(owner);
    await bare.connect();
    const now = new Date();
    const organisation = await seedOrganisation(owner, { name: 'Bench Organisation', roles: [] });
    const [, seedMs] = await time(() => seedRunsAndLogs(bare, organisation.id, now));
    await bare.query('vacuum analyze');
    const lines = await lineCount(bare);
    console.log(
      `seeded ${LISTED_RUNS.toLocaleString('en')} runs and ${lines.toLocaleString('en')} log lines in ${seconds(seedMs)}`,
    );

    // Baseline: the same rows deleted bare, in one statement; then the log is written again.
    const [, bareMs] = await time(() =>
      bare.query(
        `delete from sync_log_chunk c using sync_run r
         where r.id = c.run_id and r.organisation_id = $1 and r.finished_at < $2::timestamptz - interval '90 days'`,
        [organisation.id, now],
      ),
    );
    await seedLogs(bare, organisation.id, now);
    await bare.query('vacuum analyze');

    appOrm = await createOrm({ databaseUrl: database.url, role: API_DATABASE_ROLE });
    const list = async () => {
      const [, elapsed] = await time(() => listRuns(appOrm!.em.fork(), organisation.id, { limit: 50 }, now));
      return elapsed;
    };
    for (let i = 0; i < 20; i++) await list();
    const idle: number[] = [];
    for (let i = 0; i < IDLE_SAMPLES; i++) idle.push(await list());

    // The list is called back to back while the purge runs; each batch waits for enough calls to
    // spread MIN_DURING_SAMPLES over the purge, so a fast purge is still measured during.
    const during: number[] = [];
    let purging = true;
    const listing = (async () => {
      while (purging) during.push(await list());
    })();
    const batches = Math.ceil(EXPIRED_RUNS / 500);
    let waitMs = 0;
    const [outcome, wallMs] = await time(() =>
      purgeExpiredLogs(owner!, {
        now,
        onBatch: async () => {
          const waitStarted = performance.now();
          const target = during.length + Math.ceil(MIN_DURING_SAMPLES / batches);
          while (during.length < target) await new Promise((resolve) => setImmediate(resolve));
          waitMs += performance.now() - waitStarted;
        },
      }),
    );
    // The purge's own time: its waits for list calls left out.
    const purgeMs = wallMs - waitMs;
    purging = false;
    await listing;
    if (outcome === 'busy') throw new Error('the purge lock was held');
    const left = await lineCount(bare);
    if (left !== 0) throw new Error(`${left} log lines were left after the purge`);

    const idleP95 = percentile(idle, 95);
    const duringP95 = percentile(during, 95);
    console.log(
      `\nPurge of ${lines.toLocaleString('en')} log lines (${outcome.logsPurged.toLocaleString('en')} runs, ${outcome.batches} transactions): ${seconds(purgeMs)}, beside a bare one-statement delete of the same chunks: ${seconds(bareMs)} (×${(purgeMs / bareMs).toFixed(2)})`,
    );
    console.log(
      `runs.list first page p95: idle ${ms(idleP95)} (${idle.length} calls), during the purge ${ms(duringP95)} (${during.length} calls): ×${(duringP95 / idleP95).toFixed(2)}`,
    );
    console.log(`bench:purge took ${seconds(performance.now() - started)}`);
  } finally {
    await bare.end().catch(() => {});
    await appOrm?.close(true);
    await owner?.close(true);
    await database.drop();
    process.off('SIGINT', dropOnInterrupt);
  }
}

await main();
