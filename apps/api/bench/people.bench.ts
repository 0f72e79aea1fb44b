/**
 * `pnpm bench:people` (read side): `people.history` (listPersonHistory through the repository: the
 * row-level-security transaction, person_history_entries' lookup by email or external ID, and the runs) with 1M indexed rows in the organisation (10,000 people in 100 runs,
 * every line of a run a change, each with its log line) and each person's user row keeping the create
 * that made it (as a first import leaves them), on the PostgreSQL at DATABASE_URL or 127.0.0.1:5432, in a database of its
 * own dropped at the end. Beside it: the bare SELECT of the same person's index rows as the superuser,
 * alternating with it. p50/p95 of a first page by email and of a second page by external ID.
 * Target: p95 ≤ 50 ms.
 */
import { API_DATABASE_ROLE, createOrm, listPersonHistory, migrate, type Orm } from '@provisioning/db';
import {
  createTestDatabase,
  insertLogChunksSql,
  seedConfiguration,
  seedOrganisation,
  seedRun,
} from '@provisioning/db/testing';
import { PERSON_HISTORY_PAGE_SIZE, type PersonHistoryInput } from '@provisioning/shared';
import { percentile } from '@provisioning/testkit';
import pg from 'pg';
import { ms } from './timing.ts';

const RUNS = 100;
const PEOPLE = 10_000;
const SAMPLES = 200;
const WARMUP = 20;
const TARGET_P95_MS = 50;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

const email = (person: number) => `employee.${person}@example.com`;
const externalId = (person: number) => `E${String(person).padStart(7, '0')}`;

/**
 * One log line per person in every run, as a sync writes them (chunks of 1,000), and its index rows; and a
 * user per person whose row keeps the create of the first run (after that run's other lines).
 */
async function seedHistory(bare: pg.Client, runIds: string[], configurationId: string): Promise<void> {
  await bare.query(
    `insert into directory_user (id, organisation_id, managed_by_id, external_id, email, first_name, last_name,
       status, created_at, updated_at, created_run_id, created_seq, created_applied_at)
     select gen_random_uuid(), r.organisation_id, $2, 'E' || lpad(g::text, 7, '0'), 'employee.' || g || '@example.com',
       'Employee', g::text, 'active', r.finished_at, r.finished_at, r.id, ${PEOPLE} + g + 1, r.finished_at
     from sync_run r cross join generate_series(0, ${PEOPLE} - 1) g
     where r.id = $1`,
    [runIds[0], configurationId],
  );
  const lines = `
    select r.id as run_id, g + 1 as seq, g + 2 as row_number, 'E' || lpad(g::text, 7, '0') as external_id,
      'employee.' || g || '@example.com' as email, 'Employee ' || g as name, k.action,
      case k.action when 'skip' then 'warning' else 'applied' end as outcome,
      case when k.action = 'update' then jsonb_build_object(
        'job_title', jsonb_build_object('before', 'Engineer ' || (g % 7), 'after', 'Senior engineer ' || (g % 7))) end
        as changes,
      case when k.action = 'skip' then 'Row ' || (g + 2) || ': manager email is not an email address' end as message,
      null as hint, r.organisation_id, r.finished_at
    from sync_run r cross join generate_series(0, ${PEOPLE} - 1) g
    cross join lateral (select case abs(hashint4(g + hashtext(r.id::text))) % 4
      when 0 then 'skip' when 1 then 'deactivate' else 'update' end as action) k
    where r.id = any($1::uuid[])`;
  await bare.query(
    insertLogChunksSql(
      `select run_id, seq, row_number, external_id, email, name, action, outcome, changes, message, hint from (${lines}) l`,
    ),
    [runIds],
  );
  await bare.query(
    `insert into sync_log_person (run_id, seq, organisation_id, applied_at, email, external_id, action, outcome,
       name, changes, message)
     select run_id, seq, organisation_id, finished_at, email, lower(external_id), action, outcome, name, changes, message
     from (${lines}) l`,
    [runIds],
  );
}

interface Case {
  name: string;
  /** The app's input for person `n`: may read a first page to get a cursor. */
  input: (person: number) => Promise<PersonHistoryInput>;
  bareKey: (person: number) => { column: 'email' | 'external_id'; value: string };
}

async function main() {
  const database = await createTestDatabase('bench_people_api');
  process.once('SIGINT', () => void database.drop().finally(() => process.exit(130)));
  let owner: Orm | undefined;
  let appOrm: Orm | undefined;
  const bare = new pg.Client({ connectionString: database.url });
  try {
    if (database.kind !== 'server') throw new Error('bench:people needs a PostgreSQL server');
    owner = await createOrm({ databaseUrl: database.url, poolSize: 2 });
    await migrate(owner);
    await bare.connect();
    const organisation = await seedOrganisation(owner, { name: 'Bench people', timeZone: 'Europe/Paris' });
    const configurationId = await seedConfiguration(owner, organisation.id, 'Workday employees');
    const day = 86_400_000;
    const runIds: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      runIds.push(
        await seedRun(owner, {
          organisationId: organisation.id,
          configurationId,
          status: 'success',
          startedAt: new Date(Date.now() - (RUNS - i) * day),
        }),
      );
    }
    const seedStarted = performance.now();
    await seedHistory(bare, runIds, configurationId);
    await bare.query('vacuum analyze');
    const { rows } = await bare.query<{ n: number }>(
      'select count(*)::int as n from sync_log_person where organisation_id = $1',
      [organisation.id],
    );
    console.log(
      `seeded ${rows[0]?.n.toLocaleString('en-GB')} index rows (${RUNS} runs × ${PEOPLE.toLocaleString('en-GB')} people) and their log lines in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
    );

    appOrm = await createOrm({ databaseUrl: database.url, role: API_DATABASE_ROLE });
    const app = appOrm;
    const history = (input: PersonHistoryInput) => listPersonHistory(app.em.fork(), organisation.id, input);
    const cases: Case[] = [
      {
        name: 'first page by email',
        input: async (person) => ({ query: email(person) }),
        bareKey: (person) => ({ column: 'email', value: email(person) }),
      },
      {
        name: 'second page by external ID',
        input: async (person) => {
          const first = await history({ query: externalId(person) });
          return { query: externalId(person), cursor: first.nextCursor };
        },
        bareKey: (person) => ({ column: 'external_id', value: externalId(person).toLowerCase() }),
      },
    ];

    console.log(`people.history, ${PERSON_HISTORY_PAGE_SIZE} entries a page, ${SAMPLES} people each:`);
    let worst = 0;
    for (const entry of cases) {
      const appTimes: number[] = [];
      const bareTimes: number[] = [];
      for (let i = 0; i < WARMUP + SAMPLES; i++) {
        const person = Math.floor(Math.random() * PEOPLE);
        const input = await entry.input(person);
        const key = entry.bareKey(person);
        const appMs = await timed(async () => {
          const page = await history(input);
          if (page.entries.length !== PERSON_HISTORY_PAGE_SIZE) throw new Error('a short page');
        });
        const bareMs = await timed(() =>
          bare.query(
            `select run_id, seq, applied_at from sync_log_person where organisation_id = $1 and ${key.column} = $2
             order by applied_at desc, run_id desc, seq desc limit $3`,
            [organisation.id, key.value, PERSON_HISTORY_PAGE_SIZE + 1],
          ),
        );
        if (i >= WARMUP) {
          appTimes.push(appMs);
          bareTimes.push(bareMs);
        }
      }
      const p95 = percentile(appTimes, 95);
      const bareP95 = percentile(bareTimes, 95);
      worst = Math.max(worst, p95);
      console.log(
        `  ${entry.name}: p50 ${ms(percentile(appTimes, 50))}, p95 ${ms(p95)}; bare SELECT p50 ${ms(percentile(bareTimes, 50))}, ` +
          `p95 ${ms(bareP95)}; ratio ${(p95 / bareP95).toFixed(1)}x (target p95 ≤ ${TARGET_P95_MS} ms: ${p95 <= TARGET_P95_MS ? 'PASS' : 'MISS'})`,
      );
    }
    if (worst > TARGET_P95_MS) process.exitCode = 1;
  } finally {
    await bare.end().catch(() => {});
    await appOrm?.close(true);
    await owner?.close(true);
    await database.drop();
  }
}

await main();
