import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import {
  csvField,
  csvLine,
  formatChanges,
  type LogFileEntry,
  logCells,
  logFileName,
  logHeaders,
  neutraliseCell,
} from './log-file.ts';

describe('logFileName', () => {
  it('names the example from the design exactly', () => {
    expect(logFileName(new Date('2024-01-15T22:30:00Z'), 'UTC', 'csv')).toBe(
      'Sync Logs - 15 Jan 2024 10.30pm.csv',
    );
  });

  it('uses .xlsx for Excel', () => {
    expect(logFileName(new Date('2024-01-15T22:30:00Z'), 'UTC', 'xlsx')).toBe(
      'Sync Logs - 15 Jan 2024 10.30pm.xlsx',
    );
  });

  it.each([
    // Europe/London: BST starts at 01:00 UTC on 31 March 2024 and ends at 01:00 UTC on 27 October 2024.
    ['2024-03-31T00:30:00Z', 'Europe/London', '31 Mar 2024 12.30am'],
    ['2024-03-31T00:59:00Z', 'Europe/London', '31 Mar 2024 12.59am'],
    ['2024-03-31T01:00:00Z', 'Europe/London', '31 Mar 2024 2.00am'],
    ['2024-10-27T00:30:00Z', 'Europe/London', '27 Oct 2024 1.30am'],
    ['2024-10-27T01:30:00Z', 'Europe/London', '27 Oct 2024 1.30am'],
    ['2024-07-01T11:05:00Z', 'Europe/London', '1 Jul 2024 12.05pm'],
    // America/New_York: EDT from 07:00 UTC on 10 March, EST again from 06:00 UTC on 3 November.
    ['2024-03-10T06:59:00Z', 'America/New_York', '10 Mar 2024 1.59am'],
    ['2024-03-10T07:00:00Z', 'America/New_York', '10 Mar 2024 3.00am'],
    ['2024-11-03T05:30:00Z', 'America/New_York', '3 Nov 2024 1.30am'],
    ['2024-11-03T06:30:00Z', 'America/New_York', '3 Nov 2024 1.30am'],
    ['2024-01-16T03:30:00Z', 'America/New_York', '15 Jan 2024 10.30pm'],
    // Half- and quarter-hour offsets; the wall clock's date can differ from the UTC date.
    ['2024-01-15T18:30:00Z', 'Asia/Kolkata', '16 Jan 2024 12.00am'],
    ['2024-01-15T06:30:00Z', 'Asia/Kolkata', '15 Jan 2024 12.00pm'],
    ['2024-01-15T17:00:00Z', 'Asia/Kolkata', '15 Jan 2024 10.30pm'],
    ['2024-01-15T00:00:00Z', 'Asia/Kathmandu', '15 Jan 2024 5.45am'],
    ['2024-12-31T11:05:00Z', 'Pacific/Auckland', '1 Jan 2025 12.05am'],
    ['2024-01-01T07:59:00Z', 'America/Los_Angeles', '31 Dec 2023 11.59pm'],
    // Noon and midnight in UTC, every month's short name.
    ['2024-02-29T12:00:00Z', 'UTC', '29 Feb 2024 12.00pm'],
    ['2024-09-09T00:00:00Z', 'UTC', '9 Sep 2024 12.00am'],
    ['2024-05-05T09:05:00Z', 'UTC', '5 May 2024 9.05am'],
  ])('names a run started at %s in %s "Sync Logs - %s.csv"', (instant, timeZone, expected) => {
    expect(logFileName(new Date(instant), timeZone, 'csv')).toBe(`Sync Logs - ${expected}.csv`);
  });

  it('spells every month the same short way', () => {
    const months = Array.from(
      { length: 12 },
      (_, month) => logFileName(new Date(Date.UTC(2024, month, 10, 8)), 'UTC', 'csv').split(' ')[4],
    );
    expect(months).toEqual([
      'Jan',
      'Feb',
      'Mar',
      'Apr',
      'May',
      'Jun',
      'Jul',
      'Aug',
      'Sep',
      'Oct',
      'Nov',
      'Dec',
    ]);
  });

  it('falls back to UTC for a time zone this runtime does not know', () => {
    expect(logFileName(new Date('2024-01-15T22:30:00Z'), 'Mars/Olympus_Mons', 'csv')).toBe(
      'Sync Logs - 15 Jan 2024 10.30pm.csv',
    );
  });
});

describe('csvField', () => {
  it.each([
    ['a semicolon', 'Bob;=1+1', `"Bob;'=1+1"`],
    ['a comma', 'Bob,+1', `"Bob,'+1"`],
    ['a pipe', 'Bob|@SUM(1)', `"Bob|'@SUM(1)"`],
    ['a semicolon and a full-width trigger', 'Bob;＝1+1', `"Bob;'＝1+1"`],
    ['a semicolon and a quote', 'Bob;"x"', `"Bob;""x"""`],
    ['a semicolon with no trigger after it', 'Smith; Jones', `"Smith; Jones"`],
  ])('quotes a field holding %s and neutralises a trigger after a separator', (_name, value, field) => {
    expect(csvField(value)).toBe(field);
  });

  it.each(['Sales', 'a=b', 'ada@acme.example', 'Jean-Luc'])('leaves %j unquoted', (value) => {
    expect(csvField(value)).toBe(value);
  });

  it('writes numbers as they are and an empty cell as nothing', () => {
    expect(csvField(42)).toBe('42');
    expect(csvField(null)).toBe('');
  });

  it('keeps a semicolon-locale reader from seeing a cell that starts with a trigger', () => {
    // As the export writes them: each cell neutralised (logCells), then joined.
    const line = csvLine(['Bob;=1+1', '-2;+3', 'plain', 'x|@y'].map(neutraliseCell));
    // What Excel in a de/fr/nl locale does with a line: split on separators outside quotes.
    const outsideQuotes = (separator: string) => new RegExp(`${separator}(?=(?:[^"]*"[^"]*")*[^"]*$)`);
    const cells = line
      .trimEnd()
      .split(outsideQuotes(';'))
      .flatMap((part) => part.split(outsideQuotes(',')));
    expect(cells).toHaveLength(4);
    for (const cell of cells) expect(cell.replace(/^"/, '')).not.toMatch(/^[=+\-@＝＋－＠]/);
    // A reader that ignores the quotes altogether still finds every trigger behind a single quote.
    for (const cell of line.trimEnd().split(/[;,|]/)) expect(cell.replace(/^"/, '')).not.toMatch(/^[=+\-@]/);
  });
});

describe('neutraliseCell', () => {
  it.each([
    ['=', '=HYPERLINK("http://evil.example","click")'],
    ['+', '+44 20 7946 0000'],
    ['-', "-2+3+cmd|' /C calc'!A0"],
    ['@', "@SUM(1+1)*cmd|' /C calc'!A0"],
    ['tab', '\t=1+1'],
    ['CR', '\r=1+1'],
    ['LF', '\n=1+1'],
    ['a full-width =', '＝1+1'],
    ['a full-width +', '＋1+1'],
    ['a full-width -', '－1+1'],
    ['a full-width @', '＠SUM(1)'],
  ])('prefixes a cell starting with %s with a single quote and keeps the rest', (_name, value) => {
    expect(neutraliseCell(value)).toBe(`'${value}`);
  });

  it.each(['Sales', 'ada@acme.example', ' =1+1', "'already quoted", '', 'Zoë Ørsted', 'a=b'])(
    'leaves %j as it is',
    (value) => {
      expect(neutraliseCell(value)).toBe(value);
    },
  );
});

describe('formatChanges', () => {
  it('writes every changed field as one readable cell, fields in name order, empty values named', () => {
    expect(
      formatChanges({
        job_title: { before: null, after: 'Engineer' },
        department: { before: 'Sales', after: 'Marketing' },
      }),
    ).toBe('department: Sales → Marketing; job_title: (empty) → Engineer');
    expect(formatChanges({ phone: { before: '123', after: '' } })).toBe('phone: 123 → (empty)');
  });

  it('is empty without changes', () => {
    expect(formatChanges(null)).toBe('');
    expect(formatChanges({})).toBe('');
  });
});

const entry = (fields: Partial<LogFileEntry>): LogFileEntry => ({
  seq: 1,
  rowNumber: null,
  externalId: null,
  email: null,
  name: null,
  action: 'create',
  outcome: 'applied',
  changes: null,
  message: null,
  hint: null,
  ...fields,
});

describe('log columns', () => {
  it('gives the sync result log its eight columns with human labels', () => {
    expect(logHeaders('result')).toEqual([
      'Row',
      'External ID',
      'Email',
      'Name',
      'Action',
      'Outcome',
      'Changes',
      'Message',
    ]);
    expect(
      logCells(
        'result',
        entry({
          rowNumber: 7,
          externalId: 'E-7',
          email: 'ada@acme.example',
          name: 'Ada Lovelace',
          action: 'update',
          outcome: 'applied',
          changes: { department: { before: 'Sales', after: 'Marketing' } },
        }),
      ),
    ).toEqual([
      7,
      'E-7',
      'ada@acme.example',
      'Ada Lovelace',
      'Updated',
      'Applied',
      'department: Sales → Marketing',
      null,
    ]);
  });

  it.each([
    ['create', 'applied', 'Created', 'Applied'],
    ['update', 'warning', 'Updated', 'Warning'],
    ['reactivate', 'applied', 'Reactivated', 'Applied'],
    ['deactivate', 'applied', 'Deactivated', 'Applied'],
    ['unchanged', 'no_change', 'Unchanged', 'No change'],
    ['skip', 'not_applied', 'Skipped', 'Not applied'],
    ['error', 'failed', 'Error', 'Failed'],
  ] as const)(
    'labels action %s and outcome %s as "%s" and "%s"',
    (action, outcome, actionLabel, outcomeLabel) => {
      const cells = logCells('result', entry({ action, outcome }));
      expect(cells.slice(4, 6)).toEqual([actionLabel, outcomeLabel]);
    },
  );

  it('gives the error log the row, the error and what to do', () => {
    expect(logHeaders('error')).toEqual(['Row', 'Error', 'What to do']);
    expect(
      logCells(
        'error',
        entry({
          action: 'error',
          outcome: 'failed',
          message: 'Missing required column `email`. Found: Work Email, Name',
          hint: 'Add an email column or map one in the configuration.',
        }),
      ),
    ).toEqual([
      null,
      'Missing required column `email`. Found: Work Email, Name',
      'Add an email column or map one in the configuration.',
    ]);
  });

  it('neutralises every text cell, including a changed value that starts with a formula', () => {
    const cells = logCells(
      'result',
      entry({
        rowNumber: 3,
        externalId: '-42',
        email: '@evil',
        name: '=cmd',
        changes: { phone: { before: null, after: '+1 555' } },
        message: '\tTab',
      }),
    );
    expect(cells).toEqual([
      3,
      "'-42",
      "'@evil",
      "'=cmd",
      'Created',
      'Applied',
      'phone: (empty) → +1 555',
      "'\tTab",
    ]);
    expect(logCells('error', entry({ message: '=1+1', hint: '+do this' }))).toEqual([
      null,
      "'=1+1",
      "'+do this",
    ]);
  });
});

describe('CSV lines', () => {
  it('quotes fields holding commas, quotes, CR or LF (RFC 4180) and ends lines with CRLF', () => {
    const cells = ['plain', 'a,b', 'say "hi"', 'two\nlines', 'cr\rhere', 'Zoë 山田 🙂', null, 12];
    const line = csvLine(cells);
    expect(line).toBe('plain,"a,b","say ""hi""","two\nlines","cr\rhere",Zoë 山田 🙂,,12\r\n');
    expect(parse(line, { relax_column_count: false })).toEqual([
      ['plain', 'a,b', 'say "hi"', 'two\nlines', 'cr\rhere', 'Zoë 山田 🙂', '', '12'],
    ]);
  });
});
