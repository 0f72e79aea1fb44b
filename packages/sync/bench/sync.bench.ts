/**
 * `pnpm bench:sync`: sync of 100k and 200k users from CSV and XLSX files, fetch excluded (the file is read
 * from local disk as the SFTP connector does after downloading), on the PostgreSQL at DATABASE_URL or
 * 127.0.0.1:5432. Beside each figure: a raw COPY of the same rows into a bare table, timed in the same run,
 * and the ratio. Targets (DESIGN.md): 100k first import ≤ 5 s, unchanged rerun ≤ 3 s, 5% delta ≤ 4 s,
 * 200k ≤ 10 s, peak RSS ≤ 512 MB.
 *
 * Then the same users through the Google Workspace connector and the local Directory API (fetch
 * included: sign-in, every page over HTTP, JSON parsing), beside the CSV first import of the same rows.
 * Then the same rows through the local Workday tenant, fetch included (the real connector over loopback
 * HTTP: a report, and Get_Workers page by page): the total, the fetch's share of it and the peak RSS,
 * beside the CSV first import of the same rows in the same run.
 *
 * First, the XLSX parts' XML read by the project's XmlScanner (`sharedStrings`, `sheetRows`) beside saxes
 * doing the same work (the reference the scanner is tested against), on the same unpacked chunks: the
 * scanner is kept only while it is at least 1.5× as fast. `--xml-only` runs just this part.
 *
 * Last, the source fingerprint's pass over a 200 MB downloaded file beside `sha256sum` (fingerprint.bench.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createConfiguration,
  createOrm,
  generateSecretKey,
  migrate,
  type Orm,
  parseSecretKey,
} from '@provisioning/db';
import { createTestDatabase } from '@provisioning/db/testing';
import { GoogleWorkspaceSettingsSchema, type SyncConfigurationInput } from '@provisioning/shared';
import {
  deltaHrRows,
  generateHrRows,
  startGoogleDirectoryServer,
  startWorkdayServer,
  time,
  writeHrCsv,
  writeHrXlsx,
} from '@provisioning/testkit';
import { loadGoogleWorkspaceSource } from '../src/connectors/google-workspace.connector.ts';
import { parseAllowList } from '../src/connectors/host-guard.ts';
import { loadSource } from '../src/connectors/load-source.ts';
import { TextBudget } from '../src/connectors/source.ts';
import { runSync } from '../src/engine/run-sync.ts';
import { createTestOrganisation, queueRunRow } from '../src/engine/sync-fixture.test-support.ts';
import { openTabularFile } from '../src/files/file-reader.ts';
import { type SheetContext, sharedStrings, sheetRows } from '../src/files/xlsx-rows.ts';
import { sharedStringsWithSaxes, sheetRowsWithSaxes } from '../src/files/xlsx-saxes.test-support.ts';
import { openZipArchive } from '../src/files/zip-archive.ts';
import { copyBaseline } from './bare-copy.ts';
import { benchFingerprint, printFingerprintFigures } from './fingerprint.bench.ts';

const SIZES = [100_000, 200_000];
/** The workbooks the XML parsers are compared on: exceljs writes inline strings unless asked. */
const xmlWorkbooks = (dir: string) => ({
  inline: join(dir, `users-${SIZES[0]}.xlsx`),
  shared: join(dir, 'users-50000-shared-strings.xlsx'),
});

async function writeSharedStringsWorkbook(dir: string) {
  await writeHrXlsx(xmlWorkbooks(dir).shared, { rows: generateHrRows(50_000, 1), useSharedStrings: true });
}

/** Writes the input files. Run in a child process, so the benchmark's own peak RSS is the sync's alone. */
async function generate(dir: string) {
  for (const n of SIZES) {
    const rows = generateHrRows(n, 1);
    await writeHrCsv(join(dir, `users-${n}.csv`), { rows });
    await writeHrCsv(join(dir, `users-${n}-delta.csv`), { rows: deltaHrRows(rows) });
    await writeHrXlsx(join(dir, `users-${n}.xlsx`), { rows });
  }
  await writeSharedStringsWorkbook(dir);
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

const SFTP_SOURCE: Pick<SyncConfigurationInput, 'connector' | 'settings'> = {
  connector: 'sftp',
  settings: {
    host: 'sftp.example.com',
    username: 'bench',
    password: 'bench-password',
    hostFingerprint: `SHA256:${'A'.repeat(43)}`,
    path: '/outbound/employees.csv',
  },
};

async function setup(
  url: string,
  label: string,
  source: Pick<SyncConfigurationInput, 'connector' | 'settings'> = SFTP_SOURCE,
): Promise<{ orm: Orm; organisationId: string; configurationId: string }> {
  const orm = await createOrm({ databaseUrl: url });
  await migrate(orm);
  const organisationId = await createTestOrganisation(orm, `Bench ${label}`);
  const configuration = await createConfiguration(
    orm.em.fork(),
    organisationId,
    {
      name: 'HR export',
      ...source,
      mapping: {},
      schedule: null,
      scheduleTimeZone: null,
      // The delta deactivates 2.5%: well inside the default threshold.
      thresholdCount: 1_000_000,
      thresholdPercent: 20,
      enabled: true,
    },
    secretKey,
  );
  return { orm, organisationId, configurationId: configuration.id };
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

/** The CSV first import of each size: the Google and Workday runs of the same rows are shown beside it. */
const csvFirstImportMs = new Map<number, number>();
const LOOPBACK = parseAllowList('127.0.0.1/32');
const BENCH_ADMIN = 'admin@example.com';

interface GoogleFigure {
  name: string;
  ms: number;
  /** The same listing read through the connector alone (sign-in, pages, parsing), in a process of its own. */
  fetchMs: number;
  rssMb: number;
  csvMs: number;
}
const googleFigures: GoogleFigure[] = [];

/**
 * Runs this script in a child process with `args`, its JSON result the last line it prints. Not spawnSync:
 * the local tenant (Directory API, Workday) runs in this process and must answer meanwhile. `input` goes
 * on the child's stdin: Google settings hold a private key, which the command line would show in a
 * process list.
 */
async function child<T>(args: string[], input = ''): Promise<T> {
  const started = spawn(process.execPath, [...process.execArgv, process.argv[1] as string, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  started.stdin.end(input);
  let stdout = '';
  started.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  const code = await new Promise<number | null>((resolve) => started.on('exit', resolve));
  if (code !== 0) throw new Error(`${args[0]} process failed with ${code}`);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as T;
}

/** The child side of a Google sync: runSync as the worker runs it, loading through the stored configuration. */
async function syncGoogleInThisProcess(databaseUrl: string, runId: string, key: Buffer) {
  const orm = await createOrm({ databaseUrl });
  try {
    const [result, ms] = await time(() => runSync(runId, { orm, secretKey: key, allowList: LOOPBACK }));
    const rssMb = process.resourceUsage().maxRSS / 1024;
    console.log(JSON.stringify({ ms, rssMb, status: 'status' in result ? result.status : 'unknown' }));
  } finally {
    await orm.close(true);
  }
}

/** The child side of the fetch-only figure: every page read and turned into records, then dropped. */
async function fetchGoogleInThisProcess(settingsJson: string) {
  const settings = GoogleWorkspaceSettingsSchema.parse(JSON.parse(settingsJson));
  const [records, ms] = await time(async () => {
    const table = await loadGoogleWorkspaceSource(settings, { allowList: LOOPBACK });
    let count = 0;
    try {
      for await (const batch of table.batches) count += batch.length;
    } finally {
      await table.close();
    }
    return count;
  });
  console.log(JSON.stringify({ ms, records, rssMb: process.resourceUsage().maxRSS / 1024 }));
}

async function benchGoogle(n: number) {
  const database = await createTestDatabase(`bench_google_${n}`);
  const google = await startGoogleDirectoryServer({ admins: [BENCH_ADMIN], users: n });
  const settings = {
    adminEmail: BENCH_ADMIN,
    serviceAccountEmail: google.serviceAccount.clientEmail,
    privateKey: google.serviceAccount.privateKey,
    tokenUrl: google.tokenUrl,
    apiBaseUrl: google.apiBaseUrl,
  };
  const { orm, ...ids } = await setup(database.url, `google ${n}`, {
    connector: 'google-workspace',
    settings,
  });
  try {
    const k = `${n / 1000}k`;
    const fetched = await child<{ ms: number; records: number }>(
      ['--fetch-google'],
      JSON.stringify(settings),
    );
    if (fetched.records !== n) throw new Error(`the fetch read ${fetched.records} users of ${n}`);
    for (const name of [`Google ${k} first import`, `Google ${k} unchanged rerun`]) {
      const runId = await queueRunRow(orm, ids.organisationId, ids.configurationId);
      const result = await child<{ ms: number; rssMb: number; status: string }>([
        '--sync-google',
        database.url,
        runId,
        secretKey.toString('base64'),
      ]);
      if (result.status !== 'success') throw new Error(`${name} ended ${result.status}`);
      googleFigures.push({
        name,
        ms: result.ms,
        fetchMs: fetched.ms,
        rssMb: result.rssMb,
        csvMs: csvFirstImportMs.get(n) ?? Number.NaN,
      });
    }
  } finally {
    await orm.close(true);
    await google.stop();
    await database.drop();
  }
}

/** 5% of rows differ: 2.5% change job title, 1.25% leave, 1.25% join. */
async function benchCsv(dir: string, n: number) {
  const database = await createTestDatabase(`bench_csv_${n}`);
  const first = join(dir, `users-${n}.csv`);
  const changed = join(dir, `users-${n}-delta.csv`);
  const baselineMs = await copyBaseline(database.url, first);
  const { orm, ...ids } = await setup(database.url, `csv ${n}`);
  try {
    const k = `${n / 1000}k`;
    const firstMs = await syncFile(orm, ids, first, database.url);
    csvFirstImportMs.set(n, firstMs);
    figures.push({
      name: `CSV ${k} first import`,
      ms: firstMs,
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

interface XmlFigure {
  name: string;
  megabytes: number;
  scannerMs: number;
  saxesMs: number;
}
const xmlFigures: XmlFigure[] = [];
/** The scanner is kept over saxes only while it is at least this much faster (issue 16). */
const SCANNER_MIN_SPEEDUP = 1.5;

/** An XLSX part unpacked into memory, in the chunks the reader gets from the archive. */
async function partChunks(path: string, name: string): Promise<string[]> {
  const archive = await openZipArchive(path, path);
  try {
    const entry = archive.entries.get(name);
    if (!entry) throw new Error(`${path} has no ${name}`);
    const budget = {
      used: 0,
      limit: Number.POSITIVE_INFINITY,
      exceeded: () => {
        throw new Error('no limit');
      },
    };
    const chunks: string[] = [];
    for await (const chunk of archive.text(entry, budget)) chunks.push(chunk);
    return chunks;
  } finally {
    archive.close();
  }
}

async function* replay(chunks: readonly string[]): AsyncGenerator<string> {
  yield* chunks;
}

/** Best of three alternating runs of each, so neither profits from running second. */
async function compareXml(
  name: string,
  chunks: string[],
  scanner: () => Promise<number>,
  saxes: () => number,
) {
  let scannerMs = Number.POSITIVE_INFINITY;
  let saxesMs = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const [scanned, a] = await time(scanner);
    const [reference, b] = await time(async () => saxes());
    if (scanned !== reference)
      throw new Error(`${name}: the scanner read ${scanned} items, saxes ${reference}`);
    scannerMs = Math.min(scannerMs, a);
    saxesMs = Math.min(saxesMs, b);
  }
  const megabytes = chunks.reduce((sum, chunk) => sum + Buffer.byteLength(chunk), 0) / 1024 / 1024;
  xmlFigures.push({ name, megabytes, scannerMs, saxesMs });
}

async function benchXmlParsers(inlineWorkbook: string, sharedWorkbook: string) {
  const context = (strings: readonly string[]): SheetContext => ({
    sharedStrings: strings,
    text: new TextBudget(Number.POSITIVE_INFINITY, 'bench'),
    isDateStyle: () => false,
    date1904: false,
  });
  const countRows = async (chunks: string[], strings: readonly string[]) => {
    let rows = 0;
    for await (const batch of sheetRows(replay(chunks), context(strings))) rows += batch.length;
    return rows;
  };
  const inlineSheet = await partChunks(inlineWorkbook, 'xl/worksheets/sheet1.xml');
  await compareXml(
    'sheet, inline strings',
    inlineSheet,
    () => countRows(inlineSheet, []),
    () => sheetRowsWithSaxes(inlineSheet, context([])).length,
  );
  const stringsPart = await partChunks(sharedWorkbook, 'xl/sharedStrings.xml');
  const strings = sharedStringsWithSaxes(stringsPart);
  await compareXml(
    'shared strings part',
    stringsPart,
    async () =>
      (await sharedStrings(replay(stringsPart), new TextBudget(Number.POSITIVE_INFINITY, 'bench'))).length,
    () => sharedStringsWithSaxes(stringsPart).length,
  );
  const sharedSheet = await partChunks(sharedWorkbook, 'xl/worksheets/sheet1.xml');
  await compareXml(
    'sheet, shared strings',
    sharedSheet,
    () => countRows(sharedSheet, strings),
    () => sheetRowsWithSaxes(sharedSheet, context(strings)).length,
  );
}

function printXmlFigures() {
  console.log(
    '\nXLSX parts: the XmlScanner beside saxes doing the same work on the same unpacked chunks (best of 3)',
  );
  console.log('part                       size     scanner      saxes   speed-up   target');
  for (const f of xmlFigures) {
    const speedUp = f.saxesMs / f.scannerMs;
    const rate = (ms: number) => `${(f.megabytes / (ms / 1000)).toFixed(0)} MB/s`;
    console.log(
      `${f.name.padEnd(24)} ${`${f.megabytes.toFixed(1)} MB`.padStart(8)} ${rate(f.scannerMs).padStart(11)} ${rate(f.saxesMs).padStart(10)} ${`${speedUp.toFixed(2)}×`.padStart(10)}   ${speedUp >= SCANNER_MIN_SPEEDUP ? 'met' : 'MISSED'} (≥ ${SCANNER_MIN_SPEEDUP}×)`,
    );
  }
}

interface WorkdayFigure {
  name: string;
  ms: number;
  fetchMs: number;
  rssMb: number;
  csvMs: number;
}
const workdayFigures: WorkdayFigure[] = [];

/** The child side of benchWorkday: the real connector, its load timed apart from the whole run. */
async function syncSourceInThisProcess(databaseUrl: string, runId: string, key: Buffer) {
  const orm = await createOrm({ databaseUrl });
  let fetchMs = 0;
  try {
    const [result, ms] = await time(() =>
      runSync(runId, {
        orm,
        secretKey: key,
        allowList: parseAllowList('127.0.0.1/32'),
        load: async (configuration, options) => {
          // Both Workday readings fetch and parse everything before handing the table on.
          const [table, loadMs] = await time(() => loadSource(configuration, key, options));
          fetchMs = loadMs;
          return table;
        },
      }),
    );
    const rssMb = process.resourceUsage().maxRSS / 1024;
    console.log(
      JSON.stringify({ ms, fetchMs, rssMb, status: 'status' in result ? result.status : 'unknown' }),
    );
  } finally {
    await orm.close(true);
  }
}

async function benchWorkday(n: number, mode: 'raas' | 'soap') {
  const database = await createTestDatabase(`bench_workday_${mode}_${n}`);
  const password = 'bench-Password-1';
  const server = await startWorkdayServer({ user: 'ISU_Bench', password, workers: generateHrRows(n, 1) });
  const settings =
    mode === 'raas'
      ? { reportUrl: server.reportUrl, username: 'ISU_Bench', password }
      : { mode, baseUrl: server.baseUrl, tenant: server.tenant, username: 'ISU_Bench', password };
  const { orm, ...ids } = await setup(database.url, `workday ${mode} ${n}`, {
    connector: 'workday',
    settings,
  });
  try {
    const runId = await queueRunRow(orm, ids.organisationId, ids.configurationId);
    const result = await child<{ ms: number; fetchMs: number; rssMb: number; status: string }>([
      '--sync-source',
      database.url,
      runId,
      secretKey.toString('base64'),
    ]);
    if (result.status !== 'success') throw new Error(`run ended ${result.status}`);
    workdayFigures.push({
      name: `Workday ${mode === 'raas' ? 'report' : 'Get_Workers'} ${n / 1000}k`,
      ms: result.ms,
      fetchMs: result.fetchMs,
      rssMb: result.rssMb,
      csvMs: csvFirstImportMs.get(n) ?? Number.NaN,
    });
  } finally {
    await orm.close(true);
    await server.stop();
    await database.drop();
  }
}

if (process.argv[2] === '--generate') {
  await generate(process.argv[3] as string);
  process.exit(0);
}
if (process.argv[2] === '--sync-google') {
  const [databaseUrl, runId, key] = process.argv.slice(3) as [string, string, string];
  await syncGoogleInThisProcess(databaseUrl, runId, parseSecretKey(key));
  process.exit(0);
}
if (process.argv[2] === '--fetch-google') {
  // The settings come on stdin (see child()).
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  await fetchGoogleInThisProcess(input || '{}');
  process.exit(0);
}
if (process.argv[2] === '--sync') {
  const [databaseUrl, runId, path, key] = process.argv.slice(3) as [string, string, string, string];
  await syncInThisProcess(databaseUrl, runId, path, parseSecretKey(key));
  process.exit(0);
}
if (process.argv[2] === '--sync-source') {
  const [databaseUrl, runId, key] = process.argv.slice(3) as [string, string, string];
  await syncSourceInThisProcess(databaseUrl, runId, parseSecretKey(key));
  process.exit(0);
}

if (process.argv.includes('--xml-only')) {
  const xmlDir = mkdtempSync(join(tmpdir(), 'bench-xml-'));
  try {
    await writeHrXlsx(xmlWorkbooks(xmlDir).inline, { rows: generateHrRows(SIZES[0] as number, 1) });
    await writeSharedStringsWorkbook(xmlDir);
    await benchXmlParsers(xmlWorkbooks(xmlDir).inline, xmlWorkbooks(xmlDir).shared);
  } finally {
    rmSync(xmlDir, { recursive: true, force: true });
  }
  printXmlFigures();
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
  await benchXmlParsers(xmlWorkbooks(dir).inline, xmlWorkbooks(dir).shared);
  for (const n of SIZES) await benchCsv(dir, n);
  for (const n of SIZES) await benchXlsx(dir, n);
  for (const n of SIZES) await benchGoogle(n);
  for (const n of SIZES) {
    await benchWorkday(n, 'raas');
    await benchWorkday(n, 'soap');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

printXmlFigures();
console.log('\nSync benchmark (fetch excluded), baseline = raw COPY of the same rows into a bare table');
console.log('case                          time      COPY     ratio   peak RSS   target');
for (const f of figures) {
  const verdict =
    f.targetMs === undefined ? '' : `${f.ms <= f.targetMs ? 'met' : 'MISSED'} (≤ ${seconds(f.targetMs)})`;
  console.log(
    `${f.name.padEnd(28)} ${seconds(f.ms).padStart(8)} ${seconds(f.baselineMs).padStart(8)} ${(f.ms / f.baselineMs).toFixed(1).padStart(6)}×  ${`${(f.rssMb ?? 0).toFixed(0)} MB`.padStart(8)}   ${verdict}`,
  );
}
console.log(
  '\nGoogle Workspace through the local Directory API (fetch included), beside the CSV first import of the same rows',
);
console.log(
  'case                          total   fetch alone  fetch share   CSV same rows  ratio   peak RSS',
);
for (const f of googleFigures) {
  console.log(
    `${f.name.padEnd(28)} ${seconds(f.ms).padStart(8)} ${seconds(f.fetchMs).padStart(12)} ${`${((f.fetchMs / f.ms) * 100).toFixed(0)}%`.padStart(12)} ${seconds(f.csvMs).padStart(15)} ${(f.ms / f.csvMs).toFixed(1).padStart(6)}×  ${`${f.rssMb.toFixed(0)} MB`.padStart(8)}`,
  );
}

console.log(
  '\nWorkday first import, fetch included (local tenant over loopback HTTP), beside the CSV first import',
);
console.log('case                          total     fetch   share   CSV same rows   ratio   peak RSS');
for (const f of workdayFigures) {
  console.log(
    `${f.name.padEnd(28)} ${seconds(f.ms).padStart(8)} ${seconds(f.fetchMs).padStart(8)} ${`${((f.fetchMs / f.ms) * 100).toFixed(0)}%`.padStart(6)}   ${seconds(f.csvMs).padStart(13)} ${(f.ms / f.csvMs).toFixed(1).padStart(6)}×  ${`${f.rssMb.toFixed(0)} MB`.padStart(8)}`,
  );
}
const worst = Math.max(
  ...figures.map((f) => f.rssMb ?? 0),
  ...googleFigures.map((f) => f.rssMb),
  ...workdayFigures.map((f) => f.rssMb),
);
console.log(
  `highest peak RSS of a syncing process ${worst.toFixed(0)} MB (target ≤ 512 MB: ${worst <= 512 ? 'met' : 'MISSED'})`,
);

printFingerprintFigures(await benchFingerprint());
