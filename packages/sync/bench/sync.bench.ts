/**
 * `pnpm bench:sync`: sync of 100k and 200k users from CSV and XLSX files, fetch excluded (the file is read
 * from local disk as the SFTP connector does after downloading), on the PostgreSQL at DATABASE_URL or
 * 127.0.0.1:5432. Beside each figure: a raw COPY of the same rows into a bare table, timed in the same run,
 * and the ratio. Targets (DESIGN.md): 100k first import ≤ 5 s, unchanged rerun ≤ 3 s, 5% delta ≤ 4 s,
 * 200k ≤ 10 s, peak RSS ≤ 512 MB.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createOrm, generateSecretKey, migrate, type Orm, parseSecretKey } from '@provisioning/db';
import { createTestDatabase } from '@provisioning/db/testing';
import { generateHrRows, HR_COLUMNS, type HrRow, writeHrCsv, writeHrXlsx } from '@provisioning/testkit';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { runSync } from '../src/engine/run-sync.ts';
import {
  createTestOrganisation,
  createUnfetchedConfiguration,
  queueRunRow,
} from '../src/engine/sync-fixture.test-support.ts';
import { openTabularFile } from '../src/files/file-reader.ts';

const SIZES = [100_000, 200_000];

/** Writes the input files. Run in a child process, so the benchmark's own peak RSS is the sync's alone. */
async function generate(dir: string) {
  for (const n of SIZES) {
    const rows = generateHrRows(n, 1);
    await writeHrCsv(join(dir, `users-${n}.csv`), { rows });
    await writeHrCsv(join(dir, `users-${n}-delta.csv`), { rows: delta(rows) });
    await writeHrXlsx(join(dir, `users-${n}.xlsx`), { rows });
  }
}

const secretKey = parseSecretKey(generateSecretKey());

interface Figure {
  name: string;
  ms: number;
  /** Peak RSS of the process that ran this sync, MB. */
  rssMb?: number;
  baselineMs: number;
  targetMs?: number;
}
const figures: Figure[] = [];
let lastPeakMb = 0;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await fn();
  return [result, performance.now() - started];
}

/** The bare baseline: COPY the same file's rows into an unindexed table. */
async function copyBaseline(url: string, csvPath: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `drop table if exists bench_copy; create unlogged table bench_copy (${HR_COLUMNS.map((c) => `${c} text`).join(', ')})`,
    );
    const [, ms] = await time(() =>
      pipeline(
        createReadStream(csvPath),
        client.query(copyFrom('copy bench_copy from stdin with (format csv, header true)')),
      ),
    );
    return ms;
  } finally {
    await client.end();
  }
}

async function setup(
  url: string,
  label: string,
): Promise<{ orm: Orm; organisationId: string; configurationId: string }> {
  const orm = await createOrm({ databaseUrl: url });
  await migrate(orm);
  const organisationId = await createTestOrganisation(orm, `Bench ${label}`);
  // The delta deactivates 2.5%: well inside the default threshold.
  const configurationId = await createUnfetchedConfiguration(orm, organisationId, secretKey, {
    thresholdCount: 1_000_000,
  });
  return { orm, organisationId, configurationId };
}

/**
 * One sync, in a process of its own as a worker would run it: its time, and the peak RSS of that process
 * (a long-lived process keeps the heap it grew, so runs in one process would measure each other).
 */
async function syncFile(
  orm: Orm,
  ids: { organisationId: string; configurationId: string },
  path: string,
  databaseUrl: string,
) {
  const id = await queueRunRow(orm, ids.organisationId, ids.configurationId);
  const child = spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      process.argv[1] as string,
      '--sync',
      databaseUrl,
      id,
      path,
      secretKey.toString('base64'),
    ],
    { encoding: 'utf8' },
  );
  const last = child.stdout.trim().split('\n').pop() ?? '';
  if (child.status !== 0) throw new Error(`sync process failed: ${child.stderr}`);
  const result = JSON.parse(last) as { ms: number; rssMb: number; status: string };
  if (!['success', 'needs_attention'].includes(result.status)) throw new Error(`run ended ${last}`);
  lastPeakMb = result.rssMb;
  return result.ms;
}

/** The child side of syncFile. */
async function syncInThisProcess(databaseUrl: string, runId: string, path: string, key: Buffer) {
  const orm = await createOrm({ databaseUrl });
  try {
    const [result, ms] = await time(() =>
      runSync(runId, {
        orm,
        secretKey: key,
        load: () => openTabularFile(path, { maxRows: 1_000_000 }, path),
      }),
    );
    const rssMb = process.resourceUsage().maxRSS / 1024;
    console.log(JSON.stringify({ ms, rssMb, status: 'status' in result ? result.status : 'unknown' }));
  } finally {
    await orm.close(true);
  }
}

/** 5% of rows differ: 2.5% change job title, 1.25% leave, 1.25% join. */
function delta(rows: HrRow[]): HrRow[] {
  const n = rows.length;
  const changed = rows.map((row, i) => (i % 40 === 0 ? { ...row, job_title: `${row.job_title} II` } : row));
  const leavers = new Set(Array.from({ length: Math.floor(n * 0.0125) }, (_, i) => i * 80 + 1));
  const joiners = generateHrRows(n + Math.floor(n * 0.0125), 1).slice(n);
  return [...changed.filter((_, i) => !leavers.has(i)), ...joiners];
}

async function benchCsv(dir: string, n: number) {
  const database = await createTestDatabase(`bench_csv_${n}`);
  const first = join(dir, `users-${n}.csv`);
  const changed = join(dir, `users-${n}-delta.csv`);
  const baselineMs = await copyBaseline(database.url, first);
  const { orm, ...ids } = await setup(database.url, `csv ${n}`);
  try {
    const k = `${n / 1000}k`;
    figures.push({
      name: `CSV ${k} first import`,
      ms: await syncFile(orm, ids, first, database.url),
      rssMb: lastPeakMb,
      baselineMs,
      targetMs: n <= 100_000 ? 5000 : 10_000,
    });
    figures.push({
      name: `CSV ${k} unchanged rerun`,
      ms: await syncFile(orm, ids, first, database.url),
      rssMb: lastPeakMb,
      baselineMs,
      targetMs: n <= 100_000 ? 3000 : 10_000,
    });
    figures.push({
      name: `CSV ${k} 5% delta`,
      ms: await syncFile(orm, ids, changed, database.url),
      rssMb: lastPeakMb,
      baselineMs,
      targetMs: n <= 100_000 ? 4000 : 10_000,
    });
  } finally {
    await orm.close(true);
    await database.drop();
  }
}

async function benchXlsx(dir: string, n: number) {
  const database = await createTestDatabase(`bench_xlsx_${n}`);
  const csv = join(dir, `users-${n}.csv`);
  const xlsx = join(dir, `users-${n}.xlsx`);
  const baselineMs = await copyBaseline(database.url, csv);
  const { orm, ...ids } = await setup(database.url, `xlsx ${n}`);
  try {
    figures.push({
      name: `XLSX ${n / 1000}k first import`,
      ms: await syncFile(orm, ids, xlsx, database.url),
      rssMb: lastPeakMb,
      baselineMs,
      targetMs: n <= 100_000 ? 5000 : 10_000,
    });
  } finally {
    await orm.close(true);
    await database.drop();
  }
}

if (process.argv[2] === '--generate') {
  await generate(process.argv[3] as string);
  process.exit(0);
}
if (process.argv[2] === '--sync') {
  const [databaseUrl, runId, path, key] = process.argv.slice(3) as [string, string, string, string];
  await syncInThisProcess(databaseUrl, runId, path, parseSecretKey(key));
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'bench-sync-'));
try {
  const started = performance.now();
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, process.argv[1] as string, '--generate', dir],
    {
      stdio: 'inherit',
    },
  );
  if (child.status !== 0) throw new Error('generating the input files failed');
  console.log(`input files written in ${seconds(performance.now() - started)}`);
  for (const n of SIZES) await benchCsv(dir, n);
  for (const n of SIZES) await benchXlsx(dir, n);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log('\nSync benchmark (fetch excluded), baseline = raw COPY of the same rows into a bare table');
console.log('case                          time      COPY     ratio   peak RSS   target');
for (const f of figures) {
  const verdict =
    f.targetMs === undefined ? '' : `${f.ms <= f.targetMs ? 'met' : 'MISSED'} (≤ ${seconds(f.targetMs)})`;
  console.log(
    `${f.name.padEnd(28)} ${seconds(f.ms).padStart(8)} ${seconds(f.baselineMs).padStart(8)} ${(f.ms / f.baselineMs).toFixed(1).padStart(6)}×  ${`${(f.rssMb ?? 0).toFixed(0)} MB`.padStart(8)}   ${verdict}`,
  );
}
const worst = Math.max(...figures.map((f) => f.rssMb ?? 0));
console.log(
  `highest peak RSS of a syncing process ${worst.toFixed(0)} MB (target ≤ 512 MB: ${worst <= 512 ? 'met' : 'MISSED'})`,
);
