import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SftpSettingsSchema } from '@provisioning/shared';
import {
  freePort,
  generateSshKeyPair,
  PNG_BYTES,
  type SftpServer,
  startSftpServer,
  writeHrCsv,
  writeHrXlsx,
  writeZipBomb,
} from '@provisioning/testkit';
import ExcelJS from 'exceljs';
import SftpClient from 'ssh2-sftp-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAllowList } from './host-guard.ts';
import { loadSftpSource, removeLeftoverDownloads, type SftpLoadOptions } from './sftp.connector.ts';
import { SourceError, type SourceRecord, type SourceTable } from './source.ts';

const USER = 'hr-export';
const PASSWORD = 'correct horse battery staple';
const clientKey = generateSshKeyPair('key passphrase');

let base: string;
let root: string;
let scratch: string;
let server: SftpServer;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'sftp-connector-test-'));
  root = join(base, 'root');
  scratch = join(base, 'scratch');
  await mkdir(join(root, 'outbound'), { recursive: true });
  await mkdir(scratch);
  // Outside the served root: the server must never hand it out.
  await writeFile(join(base, 'secret.txt'), 'not for you');
  server = await startSftpServer({
    root,
    username: USER,
    password: PASSWORD,
    publicKey: clientKey.publicKey,
  });
});

afterAll(async () => {
  await server?.stop();
  await rm(base, { recursive: true, force: true });
});

/** A server that cuts the file it serves short after 40,000 bytes, as an export rewriting it would. */
function startTruncatingServer(): Promise<SftpServer> {
  return startSftpServer({ root, username: USER, password: PASSWORD, truncateAfterBytes: 40_000 });
}

function settingsFor(path: string, overrides: Record<string, unknown> = {}, target: SftpServer = server) {
  return SftpSettingsSchema.parse({
    host: target.host,
    port: target.port,
    username: USER,
    password: PASSWORD,
    hostFingerprint: target.hostFingerprint,
    path,
    ...overrides,
  });
}

/** Fast failure in tests: one connection attempt unless a test is about retries. */
const quick: SftpLoadOptions = {
  connectAttempts: 1,
  retryDelayMs: 10,
  readyTimeoutMs: 5_000,
  // The test servers listen on loopback, which connectors refuse unless allowed.
  allowList: parseAllowList('127.0.0.1/32'),
};

async function readAll(table: SourceTable): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  try {
    for await (const batch of table.batches) records.push(...batch);
  } finally {
    await table.close();
  }
  return records;
}

async function load(path: string, overrides: Record<string, unknown> = {}, options: SftpLoadOptions = {}) {
  const table = await loadSftpSource(settingsFor(path, overrides), {
    ...quick,
    tempDir: scratch,
    ...options,
  });
  return { table, headers: table.headers, records: await readAll(table) };
}

/** The SourceError the load fails with, whether connecting, downloading, opening or reading the rows. */
async function failure(promise: Promise<unknown>): Promise<SourceError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SourceError) return error;
    throw error;
  }
  throw new Error('expected the load to fail');
}

const outbound = (name: string) => join(root, 'outbound', name);

describe('loading a file', () => {
  test('loads a CSV export and deletes the downloaded copy on close', async () => {
    await writeHrCsv(outbound('employees.csv'), { rows: 120 });
    const table = await loadSftpSource(settingsFor('/outbound/employees.csv'), {
      ...quick,
      tempDir: scratch,
    });
    expect(table.origin).toBe(`${server.host}:/outbound/employees.csv`);
    expect(await readdir(scratch)).toHaveLength(1);
    const records = await readAll(table);
    expect(records).toHaveLength(120);
    expect(records[119]).toMatchObject({ rowNumber: 121, values: { employee_id: 'E000120' } });
    expect(await readdir(scratch)).toEqual([]);
  });

  test('deletes the downloaded copy when closed without reading the rows', async () => {
    await writeHrCsv(outbound('unread.csv'), { rows: 50 });
    const table = await loadSftpSource(settingsFor('/outbound/unread.csv'), { ...quick, tempDir: scratch });
    expect(table.headers).toHaveLength(11);
    await table.close();
    expect(await readdir(scratch)).toEqual([]);
  });

  test('loads an XLSX export', async () => {
    await writeHrXlsx(outbound('employees.xlsx'), { rows: 80 });
    const { headers, records } = await load('/outbound/employees.xlsx');
    expect(headers[1]).toBe('email');
    expect(records).toHaveLength(80);
    expect(records[0]?.values).toMatchObject({ employee_id: 'E000001', employee_number: '00000001' });
    expect(records[0]?.values.start_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  test('logs in with a private key and its passphrase', async () => {
    await writeHrCsv(outbound('key.csv'), { rows: 3 });
    const { records } = await load('/outbound/key.csv', {
      password: undefined,
      privateKey: clientKey.privateKey,
      passphrase: 'key passphrase',
    });
    expect(records).toHaveLength(3);
  });

  test('loads a file through a symbolic link', async () => {
    await writeHrCsv(outbound('linked-target.csv'), { rows: 4 });
    await symlink(outbound('linked-target.csv'), outbound('latest.csv'));
    const { records } = await load('/outbound/latest.csv');
    expect(records).toHaveLength(4);
  });

  test('picks the newest file matching a pattern', async () => {
    await mkdir(join(root, 'dated'));
    const days = ['0113', '0115', '0114'];
    for (const [i, day] of days.entries()) {
      await writeHrCsv(join(root, 'dated', `employees_${day}.csv`), { rows: i + 1 });
      const time = new Date(Date.UTC(2024, 0, Number(day.slice(2))));
      await utimes(join(root, 'dated', `employees_${day}.csv`), time, time);
    }
    await writeHrCsv(join(root, 'dated', 'other_0116.csv'), { rows: 9 });
    const { table, records } = await load('/dated/employees_*.csv');
    expect(table.origin).toBe(`${server.host}:/dated/employees_0115.csv`);
    expect(records).toHaveLength(2);
  });
});

describe('the source fingerprint', () => {
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  test('is the SHA-256 and size of the file as served, downloaded in parallel pieces, with the records read', async () => {
    // About 2 MB: many 32 KB pieces, 16 in flight, written to disk out of order.
    await writeHrCsv(outbound('fingerprinted.csv'), { rows: 20_000 });
    const served = await readFile(outbound('fingerprinted.csv'));
    expect(served.length).toBeGreaterThan(16 * 32 * 1024);
    const table = await loadSftpSource(settingsFor('/outbound/fingerprinted.csv'), {
      ...quick,
      tempDir: scratch,
    });
    expect(table.fingerprint()).toBeUndefined();
    await readAll(table);
    expect(table.fingerprint()).toEqual({
      connector: 'sftp',
      origin: `sftp://${server.host}:${server.port}/outbound/fingerprinted.csv`,
      sha256: sha256(served),
      bytes: served.length,
      records: 20_000,
    });
  });

  test('of a workbook is the digest of its bytes, not of the rows read from it', async () => {
    await writeHrXlsx(outbound('fingerprinted.xlsx'), { rows: 30 });
    const { table } = await load('/outbound/fingerprinted.xlsx');
    const served = await readFile(outbound('fingerprinted.xlsx'));
    expect(table.fingerprint()).toMatchObject({ sha256: sha256(served), bytes: served.length, records: 30 });
  });

  test('is unknown when the rows were not read to the end', async () => {
    await writeHrCsv(outbound('half-read.csv'), { rows: 600 });
    const table = await loadSftpSource(settingsFor('/outbound/half-read.csv'), {
      ...quick,
      tempDir: scratch,
    });
    for await (const _batch of table.batches) break;
    await table.close();
    expect(table.fingerprint()).toBeUndefined();
  });

  test('names a hostile file name without its control characters, and never the login', async () => {
    await mkdir(join(root, 'hostile'));
    const name = 'employees_\n\u001b[31m2024.csv';
    await writeHrCsv(join(root, 'hostile', name), { rows: 2 });
    const { table } = await load('/hostile/employees_*.csv');
    const { origin } = table.fingerprint()!;
    expect(origin).toBe(`sftp://${server.host}:${server.port}/hostile/employees_\uFFFD\uFFFD[31m2024.csv`);
    expect(origin).not.toContain(USER);
    expect(origin).not.toContain(PASSWORD);
  });
});

describe('download folders', () => {
  const RUN = '0b8c5a4e-3f1d-4c2a-9e7b-6d5f4a3b2c1d';

  test("are named by the load's run, so leftovers can be told apart", async () => {
    await writeHrCsv(outbound('named.csv'), { rows: 5 });
    const table = await loadSftpSource(settingsFor('/outbound/named.csv'), {
      ...quick,
      tempDir: scratch,
      runId: RUN,
    });
    try {
      expect(await readdir(scratch)).toEqual([
        expect.stringMatching(new RegExp(`^provisioning-sftp-${RUN}-\\w+$`)),
      ]);
    } finally {
      await table.close();
    }
    expect(await readdir(scratch)).toEqual([]);
  });

  test('left by runs no longer in progress are removed; those of runs in progress and others are kept', async () => {
    const dir = await mkdtemp(join(base, 'leftovers-'));
    const live = 'aaaaaaaa-1111-4222-8333-444444444444';
    const dead = 'bbbbbbbb-1111-4222-8333-444444444444';
    for (const name of [
      `provisioning-sftp-${live}-x1`,
      `provisioning-sftp-${dead}-y2`,
      'provisioning-sftp-load-z3',
      'provisioning-sftp-Q7Rs',
      'another-program',
    ]) {
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, 'employees.csv'), 'a,b\n1,2\n');
    }
    await writeFile(join(dir, 'provisioning-sftp-a-file-not-a-folder'), '');
    const asked: string[][] = [];
    const removed = await removeLeftoverDownloads(async (ids) => {
      asked.push([...ids].sort());
      return new Set(ids.filter((id) => id === live));
    }, dir);
    expect(asked).toEqual([[live, dead].sort()]);
    expect(removed.sort()).toEqual(
      [`provisioning-sftp-${dead}-y2`, 'provisioning-sftp-load-z3', 'provisioning-sftp-Q7Rs'].sort(),
    );
    expect((await readdir(dir)).sort()).toEqual(
      ['another-program', 'provisioning-sftp-a-file-not-a-folder', `provisioning-sftp-${live}-x1`].sort(),
    );
  });
});

describe('the bad-input corpus', () => {
  test('fails an empty file: NoDataRows', async () => {
    await writeFile(outbound('empty.csv'), '');
    const error = await failure(load('/outbound/empty.csv'));
    expect(error).toMatchObject({
      kind: 'NoDataRows',
      message: `${server.host}:/outbound/empty.csv is empty (0 bytes): no header row and no data rows.`,
      transient: false,
    });
    expect(await readdir(scratch)).toEqual([]);
  });

  test('fails a header without data rows: NoDataRows', async () => {
    await writeHrCsv(outbound('header-only.csv'), { rows: 0 });
    const error = await failure(load('/outbound/header-only.csv'));
    expect(error).toMatchObject({
      kind: 'NoDataRows',
      message: `${server.host}:/outbound/header-only.csv has a header row but no data rows.`,
    });
  });

  test('fails a missing file: SourceNotFound, listing files that are there', async () => {
    await writeFile(outbound('employees_old.csv'), 'email\na@example.com\n');
    const error = await failure(load('/outbound/missing.csv'));
    expect(error.kind).toBe('SourceNotFound');
    expect(error.message).toMatch(
      /^The file \/outbound\/missing\.csv does not exist on 127\.0\.0\.1\. Files in \/outbound: .*employees_old\.csv/,
    );
    expect(error.hint).toContain('Check the path');
  });

  test('fails a missing folder: SourceNotFound', async () => {
    const error = await failure(load('/nowhere/employees.csv'));
    expect(error).toMatchObject({
      kind: 'SourceNotFound',
      message: 'The folder /nowhere does not exist on 127.0.0.1.',
    });
  });

  test('fails a pattern with no match: SourceNotFound naming the folder, the pattern and files found', async () => {
    await mkdir(join(root, 'nomatch'));
    await writeFile(join(root, 'nomatch', 'people.csv'), 'email\na@example.com\n');
    const error = await failure(load('/nomatch/employees_*.csv'));
    expect(error).toMatchObject({
      kind: 'SourceNotFound',
      message: 'No file in /nomatch on 127.0.0.1 matches employees_*.csv. Files there: people.csv.',
    });
  });

  test('reads a UTF-8 file with a byte-order mark', async () => {
    await writeHrCsv(outbound('bom.csv'), { rows: 2, bom: true });
    const { headers } = await load('/outbound/bom.csv');
    expect(headers[0]).toBe('employee_id');
  });

  test.each([
    ['semicolon', ';'],
    ['tab', '\t'],
  ] as const)('reads a %s-delimited file', async (name, delimiter) => {
    await writeHrCsv(outbound(`${name}.csv`), { rows: 4, delimiter });
    const { headers, records } = await load(`/outbound/${name}.csv`);
    expect(headers).toHaveLength(11);
    expect(records[3]?.values.email).toBe('user.4@example.com');
  });

  test('reads UTF-16LE with a byte-order mark', async () => {
    await writeHrCsv(outbound('utf16.csv'), {
      encoding: 'utf-16le',
      bom: true,
      rows: [{ email: 'zoë@example.com' }],
    });
    const { records } = await load('/outbound/utf16.csv');
    expect(records[0]?.values.email).toBe('zoë@example.com');
  });

  test('fails a windows-1252 file without configuration: BadEncoding with a hint to set encoding', async () => {
    await writeHrCsv(outbound('cp1252.csv'), {
      encoding: 'windows-1252',
      rows: [{ email: 'c@example.com', first_name: 'Chloé' }],
    });
    const error = await failure(load('/outbound/cp1252.csv'));
    expect(error).toMatchObject({
      kind: 'BadEncoding',
      message: `${server.host}:/outbound/cp1252.csv is not valid UTF-8 text: byte 0xE9 on line 2 is not UTF-8.`,
    });
    expect(error.hint).toContain('set encoding to that in the configuration');
  });

  test('reads a windows-1252 file when the encoding is configured', async () => {
    await writeHrCsv(outbound('cp1252-ok.csv'), {
      encoding: 'windows-1252',
      rows: [{ email: 'c@example.com', first_name: 'Chloé' }],
    });
    const { records } = await load('/outbound/cp1252-ok.csv', { encoding: 'windows-1252' });
    expect(records[0]?.values.first_name).toBe('Chloé');
  });

  test('keeps quoted line breaks and commas inside their cells', async () => {
    await writeHrCsv(outbound('quoted.csv'), {
      rows: [
        { email: 'a@example.com', job_title: 'Head of Sales, EMEA', location: 'Floor 2\r\nDesk "7"' },
        { email: 'b@example.com' },
      ],
    });
    const { records } = await load('/outbound/quoted.csv');
    expect(records).toHaveLength(2);
    expect(records[0]?.values).toMatchObject({
      job_title: 'Head of Sales, EMEA',
      location: 'Floor 2\r\nDesk "7"',
    });
    expect(records[1]?.rowNumber).toBe(3);
  });

  test('keeps formulas in cells as text (neutralised only at export)', async () => {
    await writeHrCsv(outbound('formulas.csv'), {
      rows: [{ email: 'a@example.com', first_name: '=cmd|"/c calc"!A1', last_name: '@SUM(1)' }],
    });
    const { records } = await load('/outbound/formulas.csv');
    expect(records[0]?.values).toMatchObject({ first_name: '=cmd|"/c calc"!A1', last_name: '@SUM(1)' });
  });

  test('passes rows with the wrong number of cells on, marked for a warning', async () => {
    await writeFile(
      outbound('counts.csv'),
      'email,first_name,last_name\r\na@example.com,Ann\r\nb@example.com,Bo,Li,extra\r\n',
    );
    const { records } = await load('/outbound/counts.csv');
    expect(records[0]?.columnCountMismatch).toEqual({ expected: 3, found: 2, extraValues: [] });
    expect(records[1]?.columnCountMismatch).toEqual({ expected: 3, found: 4, extraValues: ['extra'] });
  });

  test('fails a file over the size limit before downloading it: SizeLimitExceeded', async () => {
    await writeHrCsv(outbound('big.csv'), { rows: 2_000 });
    const error = await failure(load('/outbound/big.csv', { maxBytes: 10_000 }));
    expect(error.kind).toBe('SizeLimitExceeded');
    expect(error.message).toMatch(
      /^127\.0\.0\.1:\/outbound\/big\.csv is \d+\.\d KB, more than the 9\.8 KB limit for this configuration \(maxBytes\)\.$/,
    );
    expect(error.hint).toContain('raise maxBytes');
    expect(await readdir(scratch)).toEqual([]);
  });

  test('fails a file with too many rows: SizeLimitExceeded', async () => {
    await writeHrCsv(outbound('many.csv'), { rows: 30 });
    const error = await failure(load('/outbound/many.csv', { maxRows: 25 }));
    expect(error).toMatchObject({
      kind: 'SizeLimitExceeded',
      message: `${server.host}:/outbound/many.csv has more than 25 data rows, the limit for this configuration (maxRows).`,
    });
  });

  test('reads the first visible sheet of a workbook with several sheets and a hidden first one', async () => {
    await writeHrXlsx(outbound('sheets.xlsx'), {
      rows: 5,
      hiddenSheets: ['Lookup'],
      sheets: ['Notes', 'Archive'],
    });
    const { headers, records } = await load('/outbound/sheets.xlsx');
    expect(headers[0]).toBe('employee_id');
    expect(records).toHaveLength(5);
  });

  test('reads the sheet the configuration names', async () => {
    await writeHrXlsx(outbound('chosen.xlsx'), { rows: 5, sheetName: 'Staff', sheets: ['Notes'] });
    const { records } = await load('/outbound/chosen.xlsx', { sheet: 'Notes' });
    expect(records[0]?.values).toEqual({ code: 'X1', label: 'not the HR data (Notes)' });
  });

  test('fails a merged header: MissingColumns', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('People');
    sheet.addRow(['Name', null, 'email']);
    sheet.mergeCells('A1:B1');
    sheet.addRow(['Ann', 'Lee', 'a@example.com']);
    await workbook.xlsx.writeFile(outbound('merged.xlsx'));
    const error = await failure(load('/outbound/merged.xlsx'));
    expect(error).toMatchObject({
      kind: 'MissingColumns',
      message: `The header row (row 1) of ${server.host}:/outbound/merged.xlsx has no name in column 2 (B). Found: Name, email.`,
    });
  });

  test('fails a zip bomb: SizeLimitExceeded', async () => {
    await writeZipBomb(outbound('bomb.xlsx'), { unpackedBytes: 64 * 1024 * 1024 });
    const error = await failure(load('/outbound/bomb.xlsx', { maxBytes: 1024 * 1024 }));
    expect(error.kind).toBe('SizeLimitExceeded');
    expect(error.message).toContain(
      'unpacks to 64.0 MB, more than the 10 MB allowed for a workbook; it may be a zip bomb',
    );
    expect(await readdir(scratch)).toEqual([]);
  });

  test('fails a renamed binary: UnsupportedFormat saying what it looks like', async () => {
    await writeFile(outbound('photo.csv'), PNG_BYTES);
    const error = await failure(load('/outbound/photo.csv'));
    expect(error).toMatchObject({
      kind: 'UnsupportedFormat',
      message: `${server.host}:/outbound/photo.csv looks like a PNG image, not a CSV or XLSX file.`,
    });
  });
});

describe('connection problems', () => {
  test('refuses a server whose host key is not the pinned one: HostKeyMismatch', async () => {
    const other = generateSshKeyPair().fingerprint;
    const error = await failure(load('/outbound/employees.csv', { hostFingerprint: other }));
    expect(error).toMatchObject({ kind: 'HostKeyMismatch', transient: false });
    expect(error.message).toBe(
      `The SFTP server ${server.host} presented the host key ${server.hostFingerprint}, but the configuration expects ${other}. The connection was stopped before logging in.`,
    );
    expect(error.hint).toContain('if the server key was rotated, update hostFingerprint');
  });

  test('fails a wrong password at once: AuthFailed, not retried', async () => {
    const retries: number[] = [];
    const error = await failure(
      load(
        '/outbound/employees.csv',
        { password: 'wrong' },
        { connectAttempts: 3, onRetry: (_e, attempt) => retries.push(attempt) },
      ),
    );
    expect(error).toMatchObject({
      kind: 'AuthFailed',
      transient: false,
      message: `The SFTP server ${server.host} rejected the login of user "${USER}" with the configured password.`,
    });
    expect(retries).toEqual([]);
  });

  test('fails a private key with the wrong passphrase: AuthFailed', async () => {
    const error = await failure(
      load('/outbound/employees.csv', {
        password: undefined,
        privateKey: clientKey.privateKey,
        passphrase: 'wrong',
      }),
    );
    expect(error).toMatchObject({ kind: 'AuthFailed', transient: false });
    expect(error.message).toBe('The configured private key could not be used: its passphrase is wrong.');
  });

  test('fails a private key the server does not accept: AuthFailed', async () => {
    const error = await failure(
      load('/outbound/employees.csv', { password: undefined, privateKey: generateSshKeyPair().privateKey }),
    );
    expect(error).toMatchObject({
      kind: 'AuthFailed',
      message: `The SFTP server ${server.host} rejected the login of user "${USER}" with the configured private key.`,
    });
  });

  test('fails a connection dropped mid-download: Interrupted, transient, nothing left behind', async () => {
    const dropping = await startSftpServer({
      root,
      username: USER,
      password: PASSWORD,
      dropAfterBytes: 40_000,
    });
    try {
      await writeHrCsv(outbound('dropped.csv'), { rows: 3_000 });
      const error = await failure(
        loadSftpSource(settingsFor('/outbound/dropped.csv', {}, dropping), { ...quick, tempDir: scratch }),
      );
      expect(error).toMatchObject({ kind: 'Interrupted', transient: true });
      expect(error.message).toMatch(
        /^The download of 127\.0\.0\.1:\/outbound\/dropped\.csv \([\d.]+ KB\) stopped (after [\d.]+ KB|before it completed): the connection dropped/,
      );
      expect(await readdir(scratch)).toEqual([]);
    } finally {
      await dropping.stop();
    }
  });

  test('gives up a download whose file is cut shorter while it is read: Interrupted, transient, nothing left behind', async () => {
    const truncating = await startTruncatingServer();
    try {
      await writeHrCsv(outbound('shrinking.csv'), { rows: 3_000 });
      const progress: number[] = [];
      const error = await failure(
        loadSftpSource(settingsFor('/outbound/shrinking.csv', {}, truncating), {
          ...quick,
          tempDir: scratch,
          idleTimeoutMs: 400,
          onProgress: ({ bytes }) => progress.push(bytes),
        }),
      );
      expect(error).toMatchObject({ kind: 'Interrupted', transient: true });
      expect(error.message).toMatch(
        /^The download of 127\.0\.0\.1:\/outbound\/shrinking\.csv \([\d.]+ KB\) stalled after [\d.]+ KB: no data arrived for 0\.4 seconds\./,
      );
      expect(progress.length).toBeGreaterThan(0);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      expect(await readdir(scratch)).toEqual([]);
    } finally {
      await truncating.stop();
    }
  });

  test('stops a download at once when the load is aborted, whatever the transfer is doing', async () => {
    const truncating = await startTruncatingServer();
    try {
      await writeHrCsv(outbound('aborted.csv'), { rows: 3_000 });
      const controller = new AbortController();
      const reason = new Error('cancel requested');
      const loading = loadSftpSource(settingsFor('/outbound/aborted.csv', {}, truncating), {
        ...quick,
        tempDir: scratch,
        // Far longer than the test may take: only the abort can end this download.
        idleTimeoutMs: 600_000,
        onProgress: ({ bytes }) => {
          if (bytes >= 40_000) controller.abort(reason);
        },
        signal: controller.signal,
      });
      await expect(loading).rejects.toBe(reason);
      expect(await readdir(scratch)).toEqual([]);
    } finally {
      await truncating.stop();
    }
  });

  test('refuses a server on a private address that is not on the allow-list, before connecting', async () => {
    const attempts: number[] = [];
    const error = await failure(
      load('/outbound/employees.csv', {}, { allowList: undefined, onRetry: (_e, n) => attempts.push(n) }),
    );
    expect(error).toMatchObject({ kind: 'SourceUnreachable', transient: false });
    expect(error.message).toBe(
      '127.0.0.1 is a private, loopback or link-local address: connectors do not reach those unless they are on the allow-list.',
    );
    expect(attempts).toEqual([]);
  });

  test('refuses a host name that resolves to loopback, naming the address', async () => {
    const error = await failure(
      load('/outbound/employees.csv', { host: 'localhost' }, { allowList: undefined }),
    );
    expect(error).toMatchObject({ kind: 'SourceUnreachable', transient: false });
    expect(error.message).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), which is a private/);
  });

  test('stops at once when aborted during the SSH handshake, not after readyTimeout', async () => {
    const controller = new AbortController();
    const reason = new Error('the worker is stopping');
    // Accepts the connection and never says a word of SSH: the handshake waits.
    const mute = createServer(() => controller.abort(reason));
    await new Promise<void>((done) => mute.listen(0, '127.0.0.1', done));
    try {
      const { port } = mute.address() as { port: number };
      const loading = loadSftpSource(settingsFor('/outbound/employees.csv', { port }), {
        ...quick,
        readyTimeoutMs: 600_000,
        signal: controller.signal,
      });
      await expect(loading).rejects.toBe(reason);
    } finally {
      mute.close();
    }
  });

  test('retries an unreachable port, then fails: SourceUnreachable, transient', async () => {
    const port = await freePort();
    const retries: number[] = [];
    const error = await failure(
      load(
        '/outbound/employees.csv',
        { port },
        { connectAttempts: 3, onRetry: (_e, attempt) => retries.push(attempt) },
      ),
    );
    expect(error).toMatchObject({
      kind: 'SourceUnreachable',
      transient: true,
      message: `Could not connect to 127.0.0.1 port ${port}: the connection was refused.`,
    });
    expect(retries).toEqual([1, 2]);
  });

  test('connects on a retry once the server answers', async () => {
    await writeHrCsv(outbound('retry.csv'), { rows: 2 });
    const port = await freePort();
    // A forwarder that starts listening only after the first attempt was refused.
    let forwarder: Server | undefined;
    const sockets = new Set<Socket>();
    const startForwarder = () => {
      forwarder = createServer((socket) => {
        const upstream = new Socket();
        sockets.add(socket).add(upstream);
        upstream.connect(server.port, server.host);
        socket.pipe(upstream).pipe(socket);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
      }).listen(port, '127.0.0.1');
    };
    try {
      const { records } = await load(
        '/outbound/retry.csv',
        { port },
        { connectAttempts: 3, onRetry: startForwarder },
      );
      expect(records).toHaveLength(2);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((done) => (forwarder ? forwarder.close(done) : done(undefined)));
    }
  });

  test('gives up on a server that never completes the handshake: SourceUnreachable', async () => {
    const silent = createServer(() => {}).listen(0, '127.0.0.1');
    await new Promise((done) => silent.once('listening', done));
    const port = (silent.address() as { port: number }).port;
    try {
      const error = await failure(load('/outbound/employees.csv', { port }, { readyTimeoutMs: 300 }));
      expect(error).toMatchObject({
        kind: 'SourceUnreachable',
        transient: true,
        message: `Could not connect to 127.0.0.1 port ${port}: no SSH handshake within 0.3 seconds.`,
      });
    } finally {
      silent.close();
    }
  });
});

describe('the test SFTP server', () => {
  test('refuses paths that climb out of its root and refuses writes', async () => {
    const client = new SftpClient('test', { error: () => {}, end: () => {}, close: () => {} });
    await client.connect({ host: server.host, port: server.port, username: USER, password: PASSWORD });
    try {
      await expect(client.stat('/../secret.txt')).rejects.toMatchObject({ code: 3 });
      await expect(client.get('/outbound/../../secret.txt')).rejects.toThrow(/outside the served root/);
      await expect(client.put(Buffer.from('x'), '/outbound/new.csv')).rejects.toThrow();
      expect((await client.stat('/outbound/../outbound/employees.csv')).isFile).toBe(true);
    } finally {
      await client.end();
    }
  });
});
