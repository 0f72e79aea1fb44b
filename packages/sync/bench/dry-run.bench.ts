/**
 * `pnpm --filter @provisioning/sync bench:dry-run`: a dry run of 100k users (load → normalise → plan →
 * threshold check, writing nothing) beside the same planned run (the same steps, then its apply), on the
 * PostgreSQL at DATABASE_URL or 127.0.0.1:5432. The input is a 5% delta against a directory of 100k users
 * this configuration imported first; the file is read from local disk, fetch excluded. Each is timed
 * three times (the dry run leaves the directory as it was; each run is applied to a directory reset to
 * the first import's state), and the medians printed with their ratio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOrm, generateSecretKey, migrate, parseSecretKey, sql } from '@provisioning/db';
import { createTestDatabase } from '@provisioning/db/testing';
import { generateHrRows, median, writeHrCsv } from '@provisioning/testkit';
import { dryRunSync } from '../src/engine/dry-run.ts';
import { runSync } from '../src/engine/run-sync.ts';
import {
  createTestOrganisation,
  createUnfetchedConfiguration,
  queueRunRow,
} from '../src/engine/sync-fixture.test-support.ts';
import { openTabularFile } from '../src/files/file-reader.ts';

const USERS = 100_000;
const ROUNDS = 3;
const secretKey = parseSecretKey(generateSecretKey());

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

const dir = mkdtempSync(join(tmpdir(), 'bench-dry-run-'));
const database = await createTestDatabase('bench_dry_run');
const orm = await createOrm({ databaseUrl: database.url });
try {
  await migrate(orm);
  const rows = generateHrRows(USERS, 1);
  const first = join(dir, 'users.csv');
  const delta = join(dir, 'users-delta.csv');
  await writeHrCsv(first, { rows });
  // 5%: 2.5% change job title, 1.25% leave, 1.25% join.
  const leavers = new Set(Array.from({ length: USERS / 80 }, (_, i) => i * 80 + 1));
  const joiners = generateHrRows(USERS + USERS / 80, 1).slice(USERS);
  await writeHrCsv(delta, {
    rows: [
      ...rows
        .map((row, i) => (i % 40 === 0 ? { ...row, job_title: `${row.job_title} II` } : row))
        .filter((_, i) => !leavers.has(i)),
      ...joiners,
    ],
  });
  const organisationId = await createTestOrganisation(orm, 'Bench dry run');
  const configurationId = await createUnfetchedConfiguration(orm, organisationId, secretKey, {
    thresholdCount: 1_000_000,
  });
  const load = (path: string) => () => openTabularFile(path, { maxRows: 1_000_000 }, path);
  const run = async (path: string) => {
    const runId = await queueRunRow(orm, organisationId, configurationId);
    const result = await runSync(runId, { orm, secretKey, load: load(path) });
    if (!('status' in result) || !['success', 'needs_attention'].includes(result.status)) {
      throw new Error(`the run ended ${JSON.stringify(result)}`);
    }
  };
  await run(first);
  const knex = orm.em.getConnection().getKnex();
  await sql(knex, 'create table bench_directory as select * from directory_user');

  const dry: number[] = [];
  const planned: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    dry.push(
      await timed(async () => {
        const { report } = await dryRunSync(orm, configurationId, { secretKey, load: load(delta) });
        if (report.counts.deactivated !== USERS / 80)
          throw new Error(`unexpected plan ${JSON.stringify(report)}`);
      }),
    );
    planned.push(await timed(() => run(delta)));
    // Back to the first import's directory for the next round.
    await sql(knex, 'delete from directory_user where organisation_id = ?', [organisationId]);
    await sql(knex, 'insert into directory_user select * from bench_directory');
  }
  const dryMs = median(dry);
  const runMs = median(planned);
  console.log(`\nDry run of ${USERS / 1000}k users (5% delta), fetch excluded; median of ${ROUNDS}`);
  console.log(`dry run (writes nothing)         ${seconds(dryMs).padStart(8)}`);
  console.log(`the same planned run (applied)   ${seconds(runMs).padStart(8)}   (baseline)`);
  console.log(`ratio dry run / run              ${(dryMs / runMs).toFixed(2).padStart(8)}×`);
} finally {
  await orm.close(true);
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
}
