import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  longValueRows,
  PNG_BYTES,
  writeEntityBomb,
  writeHrCsv,
  writeHrXlsx,
  writeSharedStringBomb,
  writeZip,
  writeZipBomb,
} from '@provisioning/testkit';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SourceError, type SourceRecord, type SourceTable } from '../connectors/source.ts';
import { openTabularFile, type TabularFileOptions } from './file-reader.ts';
import { MAX_ZIP_ENTRIES } from './zip-archive.ts';

let dir: string;
let fileCount = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'file-reader-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, `${++fileCount}-${name}`);
  await writeFile(path, content);
  return path;
}

async function readAll(table: SourceTable): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  try {
    for await (const batch of table.batches) records.push(...batch);
  } finally {
    await table.close();
  }
  return records;
}

async function read(path: string, options: TabularFileOptions = {}) {
  const table = await openTabularFile(path, options, 'test:/file');
  return { headers: table.headers, records: await readAll(table) };
}

/** The SourceError a load fails with, whether opening or reading the rows. */
async function failure(path: string, options: TabularFileOptions = {}): Promise<SourceError> {
  try {
    await read(path, options);
  } catch (error) {
    if (error instanceof SourceError) return error;
    throw error;
  }
  throw new Error('expected the file to fail');
}

describe('CSV', () => {
  test('reads a generated HR export with its header and every row, numbered as a person sees them', async () => {
    const path = join(dir, 'hr.csv');
    await writeHrCsv(path, { rows: 25 });
    const { headers, records } = await read(path);
    expect(headers).toContain('employee_id');
    expect(records).toHaveLength(25);
    expect(records[0]).toMatchObject({
      rowNumber: 2,
      values: {
        employee_id: 'E000001',
        email: 'user.1@example.com',
        employee_number: '00000001',
        manager_email: '',
      },
    });
    expect(records[24]?.rowNumber).toBe(26);
    expect(records[24]?.values.manager_email).toMatch(/^user\.\d+@example\.com$/);
    expect(records.every((record) => record.columnCountMismatch === undefined)).toBe(true);
  });

  test('strips a UTF-8 byte-order mark from the first header', async () => {
    const path = join(dir, 'bom.csv');
    await writeHrCsv(path, { rows: 2, bom: true });
    const { headers } = await read(path);
    expect(headers[0]).toBe('employee_id');
  });

  test.each([
    ['semicolon', ';'],
    ['tab', '\t'],
    ['pipe', '|'],
  ] as const)('detects a %s delimiter from the header line', async (_name, delimiter) => {
    const path = join(dir, `delimiter-${_name}.csv`);
    await writeHrCsv(path, { rows: 3, delimiter });
    const { headers, records } = await read(path);
    expect(headers).toHaveLength(11);
    expect(records[2]?.values.email).toBe('user.3@example.com');
  });

  test('ignores delimiters inside a quoted header when detecting', async () => {
    const path = await fileWith('quoted-header.csv', '"last, first";email;id\n"Doe, J";j@example.com;1\n');
    const { headers } = await read(path);
    expect(headers).toEqual(['last, first', 'email', 'id']);
  });

  test('uses the configured delimiter over the detected one', async () => {
    const path = await fileWith('configured.csv', 'a;b,c\n1;2,3\n');
    expect((await read(path, { delimiter: ',' })).headers).toEqual(['a;b', 'c']);
  });

  test.each(['utf-16le', 'utf-16be'] as const)(
    'decodes %s text announced by its byte-order mark',
    async (encoding) => {
      const path = join(dir, `${encoding}.csv`);
      await writeHrCsv(path, {
        encoding,
        bom: true,
        rows: [{ email: 'zoë@example.com', first_name: 'Zoë' }],
      });
      const { headers, records } = await read(path);
      expect(headers[0]).toBe('employee_id');
      expect(records[0]?.values).toMatchObject({ email: 'zoë@example.com', first_name: 'Zoë' });
    },
  );

  test('refuses a windows-1252 file without configuration, naming the byte, the line and the setting', async () => {
    const path = await fileWith(
      'cp1252.csv',
      iconv.encode('email,first_name\nz@example.com,Zoe\nc@example.com,Chloé\n', 'windows-1252'),
    );
    const error = await failure(path);
    expect(error.kind).toBe('BadEncoding');
    expect(error.message).toBe('test:/file is not valid UTF-8 text: byte 0xE9 on line 3 is not UTF-8.');
    expect(error.hint).toContain('windows-1252');
    expect(error.transient).toBe(false);
  });

  test('decodes a windows-1252 file when the encoding is configured', async () => {
    const path = await fileWith(
      'cp1252-ok.csv',
      iconv.encode('email,first_name\nc@example.com,Chloé “Clo”\n', 'windows-1252'),
    );
    const { records } = await read(path, { encoding: 'windows-1252' });
    expect(records[0]?.values.first_name).toBe('Chloé “Clo”');
  });

  test('fails while streaming when invalid UTF-8 appears far into the file, naming its line', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => `user.${i}@example.com,Name ${i}\n`).join('');
    const path = await fileWith(
      'late-bad.csv',
      Buffer.concat([Buffer.from(`email,name\n${rows}`), Buffer.from('bad@example.com,Ren\xe9\n', 'latin1')]),
    );
    const table = await openTabularFile(path, {}, 'test:/file');
    let count = 0;
    const error = await (async () => {
      for await (const batch of table.batches) count += batch.length;
    })().catch((e: unknown) => e);
    expect(count).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({
      kind: 'BadEncoding',
      message: expect.stringContaining('byte 0xE9 on line 20002'),
    });
  });

  test('reads characters of 2, 3 and 4 bytes that straddle the 256 KB read chunks', async () => {
    // 2.4 MB of nearly all multi-byte text: the chunk boundaries fall inside characters.
    const name = (i: number) => `${'東京🎉ë'.repeat(50)}${'x'.repeat(i % 5)}`;
    const rows = Array.from({ length: 4_000 }, (_, i) => `u${i}@example.com,${name(i)}\n`);
    const path = await fileWith('multibyte.csv', `email,name\n${rows.join('')}`);
    const { records } = await read(path);
    expect(records).toHaveLength(4_000);
    expect(records.every((record, i) => record.values.name === name(i))).toBe(true);
  });

  test('refuses a UTF-8 file that ends halfway through a character', async () => {
    const path = await fileWith(
      'cut-short.csv',
      Buffer.concat([Buffer.from('email,name\na@example.com,Zo'), Buffer.from('東').subarray(0, 2)]),
    );
    expect(await failure(path)).toMatchObject({ kind: 'BadEncoding' });
  });

  test('keeps quoted commas, doubled quotes and line breaks inside one cell, with CRLF line ends', async () => {
    const csv =
      'email,title,note\r\na@example.com,"Head of Sales, EMEA","She said ""hi""\r\nand left"\r\nb@example.com,Plain,x\r\n';
    const { records } = await read(await fileWith('rfc4180.csv', csv));
    expect(records).toHaveLength(2);
    expect(records[0]?.values).toEqual({
      email: 'a@example.com',
      title: 'Head of Sales, EMEA',
      note: 'She said "hi"\r\nand left',
    });
    expect(records[1]).toMatchObject({ rowNumber: 3, values: { email: 'b@example.com' } });
  });

  test('keeps cells that look like formulas as plain text', async () => {
    const csv =
      'email,first_name,last_name\na@example.com,"=HYPERLINK(""http://x"",""y"")",+1\nb@example.com,@SUM(A1),-2\n';
    const { records } = await read(await fileWith('formulas.csv', csv));
    expect(records[0]?.values).toMatchObject({ first_name: '=HYPERLINK("http://x","y")', last_name: '+1' });
    expect(records[1]?.values).toMatchObject({ first_name: '@SUM(A1)', last_name: '-2' });
  });

  test('passes rows with too few or too many cells on, marking the mismatch and keeping extra cells apart', async () => {
    const csv =
      'email,first_name,last_name\na@example.com,Ann\nb@example.com,Bo,Li,extra,\nc@example.com,Cy,Wu,,\n';
    const { records } = await read(await fileWith('counts.csv', csv));
    expect(records[0]).toEqual({
      rowNumber: 2,
      values: { email: 'a@example.com', first_name: 'Ann', last_name: '' },
      columnCountMismatch: { expected: 3, found: 2, extraValues: [] },
    });
    expect(records[1]?.values).toEqual({ email: 'b@example.com', first_name: 'Bo', last_name: 'Li' });
    expect(records[1]?.columnCountMismatch).toEqual({ expected: 3, found: 4, extraValues: ['extra'] });
    // Trailing empty cells are padding, not data.
    expect(records[2]?.columnCountMismatch).toBeUndefined();
  });

  test('skips blank lines but counts them in row numbers', async () => {
    const { records } = await read(
      await fileWith('blank.csv', '\nemail,name\n\na@example.com,A\n , \nb@example.com,B\n'),
    );
    expect(records.map((record) => record.rowNumber)).toEqual([4, 6]);
  });

  test('drops trailing blank header cells and trims header names', async () => {
    const { headers, records } = await read(
      await fileWith('trailing.csv', ' email , name ,,\na@example.com,A,,\n'),
    );
    expect(headers).toEqual(['email', 'name']);
    expect(records[0]?.columnCountMismatch).toBeUndefined();
  });

  test.each([
    ['an empty file', '', 'test:/file is empty (0 bytes): no header row and no data rows.'],
    ['a file of blank lines', '\r\n\r\n', 'test:/file has no rows: no header row and no data rows.'],
    ['a header without data rows', 'email,name\r\n\r\n', 'test:/file has a header row but no data rows.'],
  ])('fails %s with NoDataRows', async (_name, content, message) => {
    const error = await failure(await fileWith('nodata.csv', content));
    expect(error).toMatchObject({ kind: 'NoDataRows', message });
    expect(error.hint).toContain('export');
  });

  test('fails a header with a blank column name, naming the column', async () => {
    const error = await failure(await fileWith('blank-header.csv', 'email,,name\na,b,c\n'));
    expect(error.kind).toBe('MissingColumns');
    expect(error.message).toContain('no name in column 2 (B)');
  });

  test('fails a header that names a column twice', async () => {
    const error = await failure(await fileWith('dup-header.csv', 'email,name,email\na,b,c\n'));
    expect(error.kind).toBe('MissingColumns');
    expect(error.message).toContain('two columns named "email": column 1 (A) and column 3 (C)');
  });

  test('allows exactly maxRows data rows and fails on the next one', async () => {
    const path = join(dir, 'max.csv');
    await writeHrCsv(path, { rows: 10 });
    expect((await read(path, { maxRows: 10 })).records).toHaveLength(10);
    const error = await failure(path, { maxRows: 9 });
    expect(error.kind).toBe('SizeLimitExceeded');
    expect(error.message).toBe(
      'test:/file has more than 9 data rows, the limit for this configuration (maxRows).',
    );
  });

  test('fails a quote that is never closed as a corrupt file', async () => {
    const error = await failure(
      await fileWith('unclosed.csv', 'email,name\na@example.com,"Ann\nb@example.com,Bo\n'),
    );
    expect(error.kind).toBe('CorruptFile');
    expect(error.message).toContain('never closed');
  });

  test('stops when the signal is aborted', async () => {
    const path = join(dir, 'abort.csv');
    await writeHrCsv(path, { rows: 10 });
    const controller = new AbortController();
    const table = await openTabularFile(path, { signal: controller.signal }, 'test:/file');
    controller.abort(new Error('cancelled'));
    await expect(readAll(table)).rejects.toThrow('cancelled');
  });

  test('streams 200,000 rows', async () => {
    const path = join(dir, 'big.csv');
    await writeHrCsv(path, { rows: 200_000 });
    const table = await openTabularFile(path, {}, 'test:/file');
    let count = 0;
    let batches = 0;
    let last = '';
    for await (const batch of table.batches) {
      batches++;
      expect(batch.length).toBeGreaterThan(0);
      for (const record of batch) {
        // In order, none lost or repeated across batches: the header is row 1.
        expect(record.rowNumber).toBe(count + 2);
        count++;
        last = record.values.employee_id ?? '';
      }
    }
    await table.close();
    expect(count).toBe(200_000);
    expect(last).toBe('E200000');
    // Streamed: handed out as the file is read, not as one batch at the end.
    expect(batches).toBeGreaterThan(10);
  });
});

describe('format detection', () => {
  test.each([
    ['PNG bytes named .csv', 'photo.csv', PNG_BYTES, 'UnsupportedFormat', 'looks like a PNG image'],
    [
      'a PDF named .csv',
      'doc.csv',
      Buffer.from('%PDF-1.7\n%\xe2\xe3\n', 'latin1'),
      'UnsupportedFormat',
      'looks like a PDF document',
    ],
    [
      'a program named .xlsx',
      'app.xlsx',
      Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0]),
      'UnsupportedFormat',
      'ELF executable',
    ],
    [
      'an old .xls named .xlsx',
      'old.xlsx',
      Buffer.from('d0cf11e0a1b11ae1000000000000', 'hex'),
      'UnsupportedFormat',
      'Excel 97-2003',
    ],
    [
      'an HTML page named .xls',
      'report.xls',
      Buffer.from('<html><table><tr><td>a</td></tr></table></html>'),
      'UnsupportedFormat',
      'web page',
    ],
    [
      'text named .xlsx',
      'text.xlsx',
      Buffer.from('email,name\na,b\n'),
      'CorruptFile',
      'named .xlsx, but its content is not an Excel workbook',
    ],
    [
      'random binary',
      'noise.csv',
      Buffer.from([1, 0, 2, 0, 0, 3, 250, 0, 9, 0, 0, 0, 7]),
      'UnsupportedFormat',
      'looks like a binary file',
    ],
  ])('refuses %s, saying what it looks like', async (_name, fileName, bytes, kind, message) => {
    const error = await failure(await fileWith(fileName, bytes));
    expect(error.kind).toBe(kind);
    expect(error.message).toContain(message);
  });

  test('refuses a ZIP archive that is not a workbook, listing what it holds', async () => {
    const path = join(dir, 'archive.xlsx');
    await writeZip(path, [{ name: 'employees.csv', data: Buffer.from('email\na\n') }]);
    const error = await failure(path);
    expect(error.kind).toBe('UnsupportedFormat');
    expect(error.message).toBe('test:/file is a ZIP archive holding employees.csv, not an Excel workbook.');
  });

  test('refuses a workbook when the configuration says CSV', async () => {
    const path = join(dir, 'configured-csv.xlsx');
    await writeHrXlsx(path, { rows: 2 });
    const error = await failure(path, { format: 'csv' });
    expect(error.kind).toBe('UnsupportedFormat');
    expect(error.hint).toContain('format to xlsx');
  });

  test('reads a workbook by its content whatever its name', async () => {
    const path = join(dir, 'renamed-workbook.csv');
    await writeHrXlsx(path, { rows: 3 });
    expect((await read(path)).records).toHaveLength(3);
  });

  test('reports UTF-16 text without a byte-order mark as an encoding problem', async () => {
    const error = await failure(
      await fileWith('utf16-nobom.csv', iconv.encode('email,name\na@example.com,A\n', 'utf-16le')),
    );
    expect(error.kind).toBe('BadEncoding');
    expect(error.hint).toContain('utf-16le');
  });
});

describe('XLSX', () => {
  test('reads the HR sheet: dates as ISO strings, IDs with their leading zeros', async () => {
    const path = join(dir, 'hr.xlsx');
    await writeHrXlsx(path, { rows: 30, useSharedStrings: true });
    const { headers, records } = await read(path);
    expect(headers).toHaveLength(11);
    expect(records).toHaveLength(30);
    expect(records[0]).toMatchObject({
      rowNumber: 2,
      values: { employee_id: 'E000001', employee_number: '00000001' },
    });
    expect(records[0]?.values.start_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(records.every((record) => record.columnCountMismatch === undefined)).toBe(true);
  });

  test('turns numbers, booleans, formulas, rich text, errors and links into the text a person sees', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Data');
    sheet.addRow(['email', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
    sheet.addRow([
      'x@example.com',
      1e21,
      1.0,
      0.1,
      123456789012,
      true,
      { formula: 'A1&"!"', result: 'email!' },
      { formula: 'DATE(2024,1,15)', result: 45306 },
      { richText: [{ text: 'Ri' }, { text: 'ch', font: { bold: true } }] },
      { error: '#N/A' },
      { text: 'Site', hyperlink: 'https://example.com' },
    ]);
    sheet.getCell('H2').numFmt = 'dd/mm/yyyy';
    sheet.addRow([
      'y@example.com',
      new Date(Date.UTC(2023, 11, 31)),
      new Date(Date.UTC(2023, 11, 31, 9, 30)),
      '007',
    ]);
    const path = join(dir, 'values.xlsx');
    await workbook.xlsx.writeFile(path);

    const { records } = await read(path);
    expect(records[0]?.values).toEqual({
      email: 'x@example.com',
      a: '1000000000000000000000',
      b: '1',
      c: '0.1',
      d: '123456789012',
      e: 'TRUE',
      f: 'email!',
      g: '2024-01-15',
      h: 'Rich',
      i: '#N/A',
      j: 'Site',
    });
    expect(records[1]?.values).toMatchObject({ a: '2023-12-31', b: '2023-12-31T09:30:00', c: '007', d: '' });
  });

  test('reads the first visible sheet, skipping a hidden first sheet', async () => {
    const path = join(dir, 'hidden.xlsx');
    await writeHrXlsx(path, { rows: 4, hiddenSheets: ['Lookup'], sheets: ['Notes'] });
    const { headers, records } = await read(path);
    expect(headers[0]).toBe('employee_id');
    expect(records).toHaveLength(4);
  });

  test('finds the sheets every time, whatever order the archive stores its parts in', async () => {
    // exceljs's own streaming pass intermittently loses xl/workbook.xml, which the writer stores last.
    const path = join(dir, 'order.xlsx');
    await writeHrXlsx(path, { rows: 3, hiddenSheets: ['Lookup'], sheets: ['Notes', 'Archive'] });
    for (let i = 0; i < 15; i++) {
      const { headers } = await read(path);
      expect(headers[0]).toBe('employee_id');
    }
  });

  test('keeps accented and non-Latin text intact across the whole sheet', async () => {
    const names = ['Chloé', 'Søren', 'Łukasz', '日本語の名前', 'Zoë 🌍'];
    const rows = Array.from({ length: 3_000 }, (_, i) => ({
      email: `user.${i}@example.com`,
      first_name: names[i % names.length],
      last_name: `${names[(i + 2) % names.length]}-${i}`,
    }));
    const path = join(dir, 'unicode.xlsx');
    await writeHrXlsx(path, { rows, columns: ['email', 'first_name', 'last_name'] });
    const { records } = await read(path);
    expect(records.map((record) => record.values)).toEqual(rows);
  });

  test('reads the configured sheet, matching its name case-insensitively', async () => {
    const path = join(dir, 'chosen.xlsx');
    await writeHrXlsx(path, { rows: 4, sheets: ['Notes'] });
    const { headers, records } = await read(path, { sheet: 'notes' });
    expect(headers).toEqual(['code', 'label']);
    expect(records[0]?.values.label).toBe('not the HR data (Notes)');
  });

  test('fails a sheet name that is not in the workbook, listing the sheets', async () => {
    const path = join(dir, 'missing-sheet.xlsx');
    await writeHrXlsx(path, { rows: 2, hiddenSheets: ['Lookup'] });
    const error = await failure(path, { sheet: 'People' });
    expect(error.kind).toBe('SourceNotFound');
    expect(error.message).toBe('test:/file has no sheet named "People". Sheets: Lookup (hidden), Employees.');
  });

  test('fails a merged header cell as a header without a column name', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('People');
    sheet.addRow(['Name', null, 'email']);
    sheet.mergeCells('A1:B1');
    sheet.addRow(['Ann', 'Lee', 'a@example.com']);
    const path = join(dir, 'merged.xlsx');
    await workbook.xlsx.writeFile(path);
    const error = await failure(path);
    expect(error.kind).toBe('MissingColumns');
    expect(error.message).toContain('no name in column 2 (B)');
    expect(error.hint).toContain('merged');
  });

  test('fails a sheet with a header only', async () => {
    const path = join(dir, 'header-only.xlsx');
    await writeHrXlsx(path, { rows: 0 });
    expect(await failure(path)).toMatchObject({ kind: 'NoDataRows' });
  });

  test('fails a zip bomb from its declared size before unpacking it', async () => {
    const path = join(dir, 'bomb.xlsx');
    await writeZipBomb(path, { unpackedBytes: 50 * 1024 * 1024 });
    const error = await failure(path, { maxUncompressedBytes: 10 * 1024 * 1024 });
    expect(error.kind).toBe('SizeLimitExceeded');
    expect(error.message).toContain('unpacks to 50.0 MB, more than the 10 MB allowed');
  });

  test('fails a zip bomb that lies about its size as soon as it unpacks past the size it declared', async () => {
    const path = join(dir, 'lying-bomb.xlsx');
    await writeZipBomb(path, { unpackedBytes: 50 * 1024 * 1024, lie: true });
    const error = await failure(path, { maxUncompressedBytes: 10 * 1024 * 1024 });
    expect(error.kind).toBe('CorruptFile');
    expect(error.message).toBe(
      'test:/file is not a readable Excel workbook: xl/worksheets/sheet1.xml unpacks to more than the 1 KB its table of contents says.',
    );
  });

  test('fails a cell longer than Excel allows (32,767 characters) without collecting it whole', async () => {
    const path = join(dir, 'long-cell.xlsx');
    await writeZipBomb(path, { unpackedBytes: 5 * 1024 * 1024, inCell: true });
    const error = await failure(path);
    expect(error.kind).toBe('CorruptFile');
    expect(error.message).toBe(
      'test:/file has a cell longer than 32,767 characters, more than Excel allows (cell A2).',
    );
  });

  test('refuses a workbook that defines entities (billion laughs) without expanding them', async () => {
    const path = join(dir, 'entity-bomb.xlsx');
    await writeEntityBomb(path);
    const error = await failure(path);
    expect(error.kind).toBe('CorruptFile');
    expect((error.cause as Error).message).toMatch(/a DOCTYPE, which a workbook never has/);
  });

  test('fails an archive whose entries unpack to other sizes than declared', async () => {
    const path = join(dir, 'lying-small.xlsx');
    await writeZipBomb(path, { unpackedBytes: 64 * 1024, lie: true });
    const error = await failure(path);
    expect(error.kind).toBe('CorruptFile');
    expect(error.message).toContain('unpacks to more than the 1 KB its table of contents says');
  });

  test('refuses an archive that lists more files than a workbook holds before reading its list', async () => {
    const path = join(dir, 'many-entries.xlsx');
    await writeZip(path, [{ name: 'xl/workbook.xml', data: Buffer.from('<workbook/>') }]);
    const bytes = await readFile(path);
    // The end record's two entry counts, as a hostile archive would declare them.
    bytes.writeUInt16LE(MAX_ZIP_ENTRIES + 1, bytes.length - 14);
    bytes.writeUInt16LE(MAX_ZIP_ENTRIES + 1, bytes.length - 12);
    const error = await failure(await fileWith('many-entries.xlsx', bytes));
    expect(error.kind).toBe('CorruptFile');
    expect(error.message).toBe(
      'test:/file is not a readable Excel workbook: its table of contents lists 10,001 files, more than a workbook holds.',
    );
  });

  test('refuses a password-protected entry, saying so', async () => {
    const path = join(dir, 'encrypted.xlsx');
    await writeZip(path, [{ name: 'xl/workbook.xml', data: Buffer.from('<workbook/>') }]);
    const bytes = await readFile(path);
    // The general-purpose flag's bit 0 (traditional encryption), in the local and the central header.
    bytes.writeUInt16LE(1, 6);
    bytes.writeUInt16LE(1, bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 8);
    const error = await failure(await fileWith('encrypted.xlsx', bytes));
    expect(error.kind).toBe('CorruptFile');
    expect(error.message).toBe('test:/file is encrypted (password-protected).');
  });

  test('fails a truncated workbook as a corrupt file', async () => {
    const path = join(dir, 'whole.xlsx');
    await writeHrXlsx(path, { rows: 50 });
    const bytes = await import('node:fs/promises').then((fs) => fs.readFile(path));
    const error = await failure(await fileWith('cut.xlsx', bytes.subarray(0, Math.floor(bytes.length / 2))));
    expect(error.kind).toBe('CorruptFile');
    expect(error.message).toContain('cut short');
  });
});

describe('the text limit (maxTextBytes)', () => {
  const MB = 1024 * 1024;

  /** Reads until the load fails: the records read before, and the error. */
  async function readUntilFailure(path: string, options: TabularFileOptions) {
    let records = 0;
    try {
      const table = await openTabularFile(path, options, 'test:/file');
      try {
        for await (const batch of table.batches) records += batch.length;
      } finally {
        await table.close();
      }
    } catch (error) {
      if (error instanceof SourceError) return { records, error };
      throw error;
    }
    throw new Error(`expected the file to fail; it gave ${records} records`);
  }

  test('counts each reference to a shared string, so one long string in every cell stops the read early', async () => {
    const path = join(dir, 'shared-string-bomb.xlsx');
    // 2,000 rows × 4 cells × 1,000 characters: 8 MB handed on from a table of 1 KB.
    await writeSharedStringBomb(path, { rows: 2000, length: 1000 });
    const { records, error } = await readUntilFailure(path, { maxTextBytes: MB });
    expect(error).toMatchObject({
      kind: 'SizeLimitExceeded',
      message: 'test:/file holds more than 1 MB of text, the limit for this configuration (maxTextBytes).',
    });
    expect(error.hint).toMatch(/raise maxTextBytes/);
    expect(records).toBeLessThan(300);
  });

  test('stops a shared strings table that holds more text than the limit while reading the table', async () => {
    const path = join(dir, 'long-shared-strings.xlsx');
    await writeHrXlsx(path, { rows: longValueRows(400), useSharedStrings: true });
    const { records, error } = await readUntilFailure(path, { maxTextBytes: MB });
    expect(error).toMatchObject({ kind: 'SizeLimitExceeded' });
    expect(error.message).toContain('(maxTextBytes)');
    expect(records).toBe(0);
  });

  test('loads a normal workbook with shared strings and a normal CSV file under the limit', async () => {
    const xlsx = join(dir, 'normal-shared.xlsx');
    await writeHrXlsx(xlsx, { rows: 2000, useSharedStrings: true });
    expect((await read(xlsx, { maxTextBytes: MB })).records).toHaveLength(2000);
    const csv = join(dir, 'normal.csv');
    await writeHrCsv(csv, { rows: 2000 });
    expect((await read(csv, { maxTextBytes: MB })).records).toHaveLength(2000);
  });
});
