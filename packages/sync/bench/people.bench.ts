/**
 * `pnpm bench:people` (write side): what the person index (sync_log_person, a person's history across
 * runs) costs a sync. A 100k-user first import from CSV, then a 5% delta, each with the index and without
 * it (`personIndex: false`), in databases of their own on the PostgreSQL at DATABASE_URL or 127.0.0.1:5432,
 * alternating which goes first; the best of ROUNDS each. Whole runs drift by more than the index costs on a
 * shared machine, so the index write is also timed on its own (each run's log, rolled back, best of
 * INDEX_REPEATS) and shown as a share of the run without it. A clean create is kept on the new user's
 * row rather than as an index row (three more columns in the users' COPY): that part of the cost is timed
 * the same way, the first import's users written with and without those columns, and added to the index
 * write's share. Beside them: a bare COPY of the same file into an unindexed table, timed in the same run.
 * Target: with the index ≤ 10% slower than without.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOrm, generateSecretKey, migrate, type Orm, parseSecretKey, sql } from '@provisioning/db';
import { createTestDatabase } from '@provisioning/db/testing';
import { DIRECTORY_FIELD_TABLE } from '@provisioning/shared';
import { deltaHrRows, generateHrRows, median, time, writeHrCsv } from '@provisioning/testkit';
import { type ApplyInput, insertPersonIndex, insertUsers } from '../src/engine/apply.ts';
import { runSync } from '../src/engine/run-sync.ts';
import {
  createTestOrganisation,
  createUnfetchedConfiguration,
  queueRunRow,
} from '../src/engine/sync-fixture.test-support.ts';
import type { DirectoryRecord, PlannedAction } from '../src/engine/types.ts';
import { openTabularFile } from '../src/files/file-reader.ts';
import { readLogChunk } from '../src/logs/log-chunks.ts';
import { copyBaseline } from './bare-copy.ts';

const USERS = 100_000;
const ROUNDS = 3;
/** Timed writes of the index alone, each rolled back. */
const INDEX_REPEATS = 5;
const TARGET_OVERHEAD = 0.1;
const secretKey = parseSecretKey(generateSecretKey());
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

type Variant = 'with' | 'without';
interface Timing {
  first: number;
  delta: number;
  indexRows: number;
  /** The index write alone for each run's log (with the index only): best of INDEX_REPEATS. */
  firstIndex: number;
  deltaIndex: number;
  /** What keeping the creates on the user rows adds to the first import's users write (best of INDEX_REPEATS). */
  firstCreates: number;
}

/**
 * What the creates kept on user rows add to a first import: its users written again into an empty
 * organisation with the create references and without them, alternating, each in a transaction rolled back.
 */
async function timeCreateReferences(orm: Orm, runId: string, organisationId: string): Promise<number> {
  const knex = orm.em.getConnection().getKnex();
  const columns = DIRECTORY_FIELD_TABLE.map((entry) => `${entry.column}::text as "${entry.property}"`);
  const records = await sql<DirectoryRecord>(
    knex,
    `select ${columns.join(', ')} from directory_user where organisation_id = ? order by created_seq`,
    [organisationId],
  );
  const creates = records.map((record, i) => ({
    action: { action: 'create', rowNumber: i + 2, record, warnings: [] } satisfies PlannedAction,
    seq: i + 1,
  }));
  const empty = await createTestOrganisation(orm, 'Bench people, empty');
  const configurationId = await createUnfetchedConfiguration(orm, empty, secretKey, {});
  const input = { runId, attempt: 1, organisationId: empty, configurationId } as ApplyInput;
  const best = { with: Infinity, without: Infinity };
  for (let i = 0; i < INDEX_REPEATS; i++) {
    for (const variant of i % 2 === 0 ? (['with', 'without'] as const) : (['without', 'with'] as const)) {
      const trx = await knex.transaction();
      try {
        const appliedAt = variant === 'with' ? new Date().toISOString() : null;
        const [, ms] = await time(() => insertUsers(trx, input, creates, appliedAt));
        best[variant] = Math.min(best[variant], ms);
      } finally {
        await trx.rollback();
      }
    }
  }
  return best.with - best.without;
}

/**
 * The person index write of a run's log on its own, timed INDEX_REPEATS times in a transaction rolled
 * back each time: short enough to repeat, so it shows the index's cost through the machine's noise.
 */
async function timeIndexWrite(orm: Orm, runId: string, organisationId: string): Promise<number> {
  const knex = orm.em.getConnection().getKnex();
  const chunks = await sql<{ lines: string }>(
    knex,
    'select lines::text as lines from sync_log_chunk where run_id = ? order by first_seq',
    [runId],
  );
  const entries = chunks.flatMap((chunk) => readLogChunk(chunk.lines));
  let best = Infinity;
  for (let i = 0; i < INDEX_REPEATS; i++) {
    const trx = await knex.transaction();
    try {
      await sql(trx, 'delete from sync_log_person where run_id = ?', [runId]);
      const [, ms] = await time(() =>
        insertPersonIndex(trx, {
          runId,
          organisationId,
          appliedAt: new Date().toISOString(),
          entries,
          firstSeq: entries[0]?.seq ?? 1,
        }),
      );
      best = Math.min(best, ms);
    } finally {
      await trx.rollback();
    }
  }
  return best;
}

/** A first import then the delta, in a database of its own, with or without the person index. */
async function syncBoth(variant: Variant, first: string, delta: string, round: number): Promise<Timing> {
  const database = await createTestDatabase(`bench_people_${variant}_${round}`);
  const orm = await createOrm({ databaseUrl: database.url });
  try {
    await migrate(orm);
    const organisationId = await createTestOrganisation(orm, 'Bench people');
    const configurationId = await createUnfetchedConfiguration(orm, organisationId, secretKey, {
      thresholdCount: 1_000_000,
    });
    const run = async (path: string) => {
      const runId = await queueRunRow(orm, organisationId, configurationId);
      const [result, ms] = await time(() =>
        runSync(runId, {
          orm,
          secretKey,
          personIndex: variant === 'with',
          load: () => openTabularFile(path, { maxRows: 1_000_000 }, path),
        }),
      );
      if (!('status' in result) || !['success', 'needs_attention'].includes(result.status)) {
        throw new Error(`run ended ${JSON.stringify(result)}`);
      }
      return { ms, runId };
    };
    const firstRun = await run(first);
    const deltaRun = await run(delta);
    const [count] = await orm.em
      .getConnection()
      .execute<{ n: number }[]>('select count(*)::int as n from sync_log_person_entry');
    const withIndex = variant === 'with';
    return {
      first: firstRun.ms,
      delta: deltaRun.ms,
      indexRows: count?.n ?? 0,
      firstIndex: withIndex ? await timeIndexWrite(orm, firstRun.runId, organisationId) : Infinity,
      deltaIndex: withIndex ? await timeIndexWrite(orm, deltaRun.runId, organisationId) : Infinity,
      firstCreates: withIndex ? await timeCreateReferences(orm, firstRun.runId, organisationId) : Infinity,
    };
  } finally {
    await orm.close(true);
    await database.drop();
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-people-'));
  try {
    const rows = generateHrRows(USERS, 1);
    const first = join(dir, 'users.csv');
    const delta = join(dir, 'users-delta.csv');
    await writeHrCsv(first, { rows });
    await writeHrCsv(delta, { rows: deltaHrRows(rows) });

    const baselineDb = await createTestDatabase('bench_people_copy');
    const baselineMs = await copyBaseline(baselineDb.url, first).finally(() => baselineDb.drop());

    const none = (): Timing => ({
      first: Infinity,
      delta: Infinity,
      indexRows: 0,
      firstIndex: Infinity,
      deltaIndex: Infinity,
      firstCreates: Infinity,
    });
    const best: Record<Variant, Timing> = { with: none(), without: none() };
    // Each round's with ÷ without: the machine drifts across rounds, a round's pair shares its state.
    const paired: Record<'first' | 'delta', number[]> = { first: [], delta: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order: Variant[] = round % 2 === 0 ? ['without', 'with'] : ['with', 'without'];
      const times: Partial<Record<Variant, Timing>> = {};
      for (const variant of order) {
        const timing = await syncBoth(variant, first, delta, round);
        times[variant] = timing;
        console.log(
          `  round ${round + 1}, ${variant} the index: first import ${seconds(timing.first)}, 5% delta ${seconds(timing.delta)}`,
        );
        best[variant] = {
          first: Math.min(best[variant].first, timing.first),
          delta: Math.min(best[variant].delta, timing.delta),
          indexRows: timing.indexRows,
          firstIndex: Math.min(best[variant].firstIndex, timing.firstIndex),
          deltaIndex: Math.min(best[variant].deltaIndex, timing.deltaIndex),
          firstCreates: Math.min(best[variant].firstCreates, timing.firstCreates),
        };
      }
      for (const phase of ['first', 'delta'] as const) {
        paired[phase].push((times.with?.[phase] ?? Number.NaN) / (times.without?.[phase] ?? Number.NaN));
      }
    }

    console.log(
      `\nPerson index, ${USERS / 1000}k users (best of ${ROUNDS}); bare COPY of the file ${seconds(baselineMs)}`,
    );
    const percent = (value: number) => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)}%`;
    for (const phase of ['first', 'delta'] as const) {
      const without = best.without[phase];
      const withIndex = best.with[phase];
      const indexMs = best.with[phase === 'first' ? 'firstIndex' : 'deltaIndex'];
      // A first import's creates are kept on its user rows: what that adds to the users write counts too.
      const createsMs = phase === 'first' ? Math.max(0, best.with.firstCreates) : 0;
      const overhead = withIndex / without - 1;
      const pairedOverhead = median(paired[phase]) - 1;
      const share = (indexMs + createsMs) / without;
      const parts =
        phase === 'first'
          ? `the index write alone ${seconds(indexMs)} + creates kept on user rows ${seconds(createsMs)}`
          : `the index write alone ${seconds(indexMs)}`;
      console.log(
        `  ${phase === 'first' ? 'first import' : '5% delta    '}: without ${seconds(without)}, with ${seconds(withIndex)} ` +
          `(${percent(overhead)} best against best, ${percent(pairedOverhead)} median of the rounds' pairs); ` +
          `${parts} = ${percent(share)} ` +
          `of the run without it (target ≤ ${TARGET_OVERHEAD * 100}%: ${share <= TARGET_OVERHEAD ? 'PASS' : 'MISS'}); ` +
          `ratio to bare COPY ${(withIndex / baselineMs).toFixed(1)}x`,
      );
    }
    console.log(
      `  history entries after both runs (index rows and creates kept on user rows): ${best.with.indexRows.toLocaleString('en-GB')}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
