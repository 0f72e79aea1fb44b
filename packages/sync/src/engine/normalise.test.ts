import { DEFAULT_MAX_TEXT_BYTES } from '@provisioning/shared';
import { HR_COLUMNS, iterateHrRows, longValueRows } from '@provisioning/testkit';
import { describe, expect, it } from 'vitest';
import { SourceError, type SourceRecord, TextBudget } from '../connectors/source.ts';
import { resolveColumns } from './columns.ts';
import { createNormaliser, isValidEmail, parseStartDate } from './normalise.ts';
import type { NormalisedRow } from './types.ts';

const BY_EMAIL = ['Email', 'First Name', 'Last Name'];
const BY_ID = ['Employee ID', 'Email', 'First Name', 'Last Name'];

function records(headers: string[], data: string[][]): SourceRecord[] {
  return data.map((cells, i) => ({
    rowNumber: i + 2,
    values: Object.fromEntries(headers.map((header, j) => [header, cells[j] ?? ''])),
  }));
}

function normalise(headers: string[], data: string[][], known: Iterable<string> = []): NormalisedRow[] {
  const normaliser = createNormaliser(resolveColumns(headers));
  for (const record of records(headers, data)) normaliser.add(record);
  return normaliser.finish(new Set(known));
}

function only(rows: NormalisedRow[]): NormalisedRow {
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

function valid(row: NormalisedRow | undefined) {
  if (row?.kind !== 'valid') throw new Error(`expected a valid row, got ${JSON.stringify(row)}`);
  return row;
}

function skipped(row: NormalisedRow | undefined) {
  if (row?.kind !== 'skipped') throw new Error(`expected a skipped row, got ${JSON.stringify(row)}`);
  return row;
}

describe('createNormaliser', () => {
  it('trims values, lower-cases the email and turns empty optional values into null', () => {
    const row = valid(
      only(
        normalise(
          [...BY_EMAIL, 'Job Title', 'Department'],
          [['  Ada.Lovelace@Example.COM ', ' Ada ', 'Lovelace  ', '   ', 'Engineering ']],
        ),
      ),
    );
    expect(row.key).toBe('ada.lovelace@example.com');
    expect(row.record).toEqual({
      externalId: null,
      email: 'ada.lovelace@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
      jobTitle: null,
      department: 'Engineering',
      location: null,
      managerEmail: null,
      employeeNumber: null,
      phone: null,
      startDate: null,
    });
    expect(row.warnings).toEqual([]);
  });

  it('turns control characters such as a quoted newline into a space', () => {
    const row = valid(
      only(normalise([...BY_EMAIL, 'Location'], [['a@x.com', 'Ada', 'Love\u0000lace', 'Floor 3\r\nRoom 2']])),
    );
    expect(row.record.lastName).toBe('Love lace');
    expect(row.record.location).toBe('Floor 3 Room 2');
  });

  it('skips a row with an invalid email and names the row and the field', () => {
    const row = skipped(only(normalise(BY_EMAIL, [['ada@example', 'Ada', 'Lovelace']])));
    expect(row.warnings).toEqual([
      {
        rowNumber: 2,
        field: 'email',
        message:
          'Email "ada@example" is not a valid email address; the row was skipped. Correct it in the source.',
      },
    ]);
    expect(row.key).toBe('ada@example');
    expect(row.name).toBe('Ada Lovelace');
  });

  it('skips a row without an email', () => {
    const row = skipped(only(normalise(BY_EMAIL, [['  ', 'Ada', 'Lovelace']])));
    expect(row.warnings).toEqual([
      { rowNumber: 2, field: 'email', message: 'Email is missing; the row was skipped.' },
    ]);
    expect(row.key).toBeNull();
  });

  it('skips a row without a first or last name, keeping its key to protect the user', () => {
    const rows = normalise(BY_EMAIL, [
      ['a@x.com', '', 'Lovelace'],
      ['b@x.com', 'Grace', ''],
    ]);
    expect(skipped(rows[0]).warnings).toEqual([
      { rowNumber: 2, field: 'first_name', message: 'First name is missing; the row was skipped.' },
    ]);
    expect(skipped(rows[1]).warnings).toEqual([
      { rowNumber: 3, field: 'last_name', message: 'Last name is missing; the row was skipped.' },
    ]);
    expect(skipped(rows[0]).key).toBe('a@x.com');
  });

  it('reports every problem of a row at once', () => {
    const row = skipped(only(normalise(BY_ID, [['', 'not-an-email', '', '']])));
    expect(row.warnings.map((warning) => warning.field)).toEqual([
      'employee_id',
      'email',
      'first_name',
      'last_name',
    ]);
  });

  it('requires an employee ID on every row when the column exists, keeping leading zeros', () => {
    const rows = normalise(BY_ID, [
      ['  000123 ', 'a@x.com', 'Ada', 'Lovelace'],
      ['', 'b@x.com', 'Grace', 'Hopper'],
    ]);
    expect(valid(rows[0]).record.externalId).toBe('000123');
    expect(valid(rows[0]).key).toBe('000123');
    const missing = skipped(rows[1]);
    expect(missing.warnings[0]).toMatchObject({ rowNumber: 3, field: 'employee_id' });
    expect(missing.warnings[0]!.message).toMatch(/^Employee ID is missing/);
    expect(missing.email).toBe('b@x.com');
  });

  it('keys on the lower-cased employee ID and keeps its spelling in the record', () => {
    const row = valid(only(normalise(BY_ID, [['Emp-7A', 'a@x.com', 'Ada', 'Lovelace']])));
    expect(row.key).toBe('emp-7a');
    expect(row.record.externalId).toBe('Emp-7A');
  });

  it('skips an employee ID longer than 256 characters', () => {
    const row = skipped(only(normalise(BY_ID, [['9'.repeat(257), 'a@x.com', 'Ada', 'Lovelace']])));
    expect(row.warnings[0]!.message).toBe(
      'Employee ID is 257 characters long, more than the 256 allowed; the row was skipped.',
    );
    expect(
      valid(only(normalise(BY_ID, [['9'.repeat(256), 'a@x.com', 'Ada', 'Lovelace']]))).record.externalId,
    ).toHaveLength(256);
  });

  it('skips a row with a value over 1,000 characters rather than truncating it', () => {
    const rows = normalise(
      [...BY_EMAIL, 'Job Title'],
      [
        ['a@x.com', 'Ada', 'Lovelace', 'x'.repeat(1001)],
        ['b@x.com', 'Grace', 'Hopper', 'x'.repeat(1000)],
      ],
    );
    const row = skipped(rows[0]);
    expect(row.warnings).toEqual([
      {
        rowNumber: 2,
        field: 'job_title',
        message:
          'Job title is 1,001 characters long, more than the 1,000 allowed; the row was skipped. Shorten it in the source.',
      },
    ]);
    expect(row.key).toBe('a@x.com');
    expect(valid(rows[1]).record.jobTitle).toHaveLength(1000);
  });

  it('does not carry an over-long key value into the skipped row', () => {
    const row = skipped(only(normalise(BY_EMAIL, [[`${'a'.repeat(1001)}@x.com`, 'Ada', 'Lovelace']])));
    expect(row.email).toBeNull();
    expect(row.warnings.map((warning) => warning.field)).toEqual(['email']);
  });

  describe('duplicates', () => {
    it('skips every row sharing an email, whatever its case and surrounding spaces, naming the other rows', () => {
      const rows = normalise(BY_EMAIL, [
        [' A@x.com', 'Ada', 'One'],
        ['b@x.com', 'Bob', 'Two'],
        ['a@X.com ', 'Ada', 'Three'],
        ['a@x.com', 'Ada', 'Four'],
      ]);
      expect(rows.map((row) => row.kind)).toEqual(['skipped', 'valid', 'skipped', 'skipped']);
      const first = skipped(rows[0]);
      expect(first.key).toBe('a@x.com');
      expect(first.warnings).toEqual([
        {
          rowNumber: 2,
          field: 'email',
          message:
            'Duplicate email "a@x.com": also on rows 4, 5. None of these rows was applied and the existing user was kept; ' +
            'fix the source so each email appears once.',
        },
      ]);
      expect(skipped(rows[2]).warnings[0]!.message).toMatch(/also on rows 2, 5\./);
      expect(skipped(rows[3]).warnings[0]!.message).toMatch(/also on rows 2, 4\./);
    });

    it('skips every row sharing an employee ID, whatever its case and surrounding spaces', () => {
      const rows = normalise(BY_ID, [
        ['e1 ', 'a@x.com', 'Ada', 'One'],
        [' E1', 'b@x.com', 'Bob', 'Two'],
      ]);
      expect(skipped(rows[0]).warnings[0]).toMatchObject({ field: 'employee_id' });
      expect(skipped(rows[0]).warnings[0]!.message).toMatch(/^Duplicate employee ID "e1": also on row 3\./);
      expect(skipped(rows[1]).key).toBe('e1');
      expect(skipped(rows[1]).externalId).toBe('E1');
    });

    it('skips both rows when two employee IDs share one email, keeping both keys', () => {
      const rows = normalise(BY_ID, [
        ['E1', 'Shared@x.com', 'Ada', 'One'],
        ['E2', 'shared@x.com', 'Bob', 'Two'],
        ['E3', 'c@x.com', 'Cy', 'Three'],
      ]);
      expect(rows.map((row) => row.kind)).toEqual(['skipped', 'skipped', 'valid']);
      expect(skipped(rows[0])).toMatchObject({ key: 'e1', externalId: 'E1', email: 'shared@x.com' });
      expect(skipped(rows[1])).toMatchObject({ key: 'e2', externalId: 'E2', email: 'shared@x.com' });
      expect(skipped(rows[0]).warnings).toEqual([
        {
          rowNumber: 2,
          field: 'email',
          message:
            'Email "shared@x.com" is also on row 3. None of these rows was applied and the existing users were kept; ' +
            'fix the source so each email appears once.',
        },
      ]);
    });

    it('counts a row already skipped for another reason among the duplicates', () => {
      const rows = normalise(BY_EMAIL, [
        ['a@x.com', '', 'One'],
        ['a@x.com', 'Ada', 'Two'],
      ]);
      expect(skipped(rows[0]).warnings.map((warning) => warning.field)).toEqual(['first_name', 'email']);
      expect(skipped(rows[1]).warnings).toHaveLength(1);
    });

    it('keeps the message short for a key repeated on thousands of rows', () => {
      const rows = normalise(
        BY_EMAIL,
        Array.from({ length: 2000 }, (_, i) => ['same@x.com', 'N', `${i}`]),
      );
      expect(rows.every((row) => row.kind === 'skipped')).toBe(true);
      expect(rows[0]!.warnings[0]!.message).toMatch(
        /also on rows 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 and 1989 more\./,
      );
    });
  });

  describe('start date', () => {
    it('accepts ISO dates, slashes and a time part, stored as YYYY-MM-DD', () => {
      const rows = normalise(
        [...BY_EMAIL, 'Start Date'],
        [
          ['a@x.com', 'A', 'A', '2024-01-15'],
          ['b@x.com', 'B', 'B', '2024/01/15'],
          ['c@x.com', 'C', 'C', '2024-01-15T00:00:00Z'],
          ['d@x.com', 'D', 'D', '2024-01-15T00:00:00.000Z'],
          ['e@x.com', 'E', 'E', '2024-1-5'],
        ],
      );
      expect(rows.map((row) => valid(row).record.startDate)).toEqual([
        '2024-01-15',
        '2024-01-15',
        '2024-01-15',
        '2024-01-15',
        '2024-01-05',
      ]);
      expect(rows.every((row) => row.warnings.length === 0)).toBe(true);
    });

    it('leaves out an ambiguous or impossible date with a warning and still applies the row', () => {
      for (const value of ['15/01/2024', '01/15/2024', '2023-02-29', '2024-13-01', 'next Monday', '45306']) {
        const row = valid(only(normalise([...BY_EMAIL, 'Start Date'], [['a@x.com', 'A', 'A', value]])));
        expect(row.record.startDate).toBeNull();
        expect(row.rejectedFields).toEqual(['start_date']);
        expect(row.warnings).toEqual([
          {
            rowNumber: 2,
            field: 'start_date',
            message: `Start date "${value}" is not a date in the form YYYY-MM-DD; the start date was left unchanged.`,
          },
        ]);
      }
    });

    it('parses leap days only in leap years', () => {
      expect(parseStartDate('2024-02-29')).toBe('2024-02-29');
      expect(parseStartDate('2000-02-29')).toBe('2000-02-29');
      expect(parseStartDate('1900-02-29')).toBeNull();
      expect(parseStartDate('2024-04-31')).toBeNull();
      expect(parseStartDate('2024-01/15')).toBeNull();
    });

    it("reads Workday's dates, which carry an offset right after the day, without shifting the day", () => {
      expect(parseStartDate('2016-02-02-08:00')).toBe('2016-02-02');
      expect(parseStartDate('2016-02-02+05:30')).toBe('2016-02-02');
      expect(parseStartDate('2016-02-02Z')).toBe('2016-02-02');
      expect(parseStartDate('2016-02-30-08:00')).toBeNull();
      expect(parseStartDate('2016-02-02-0800')).toBeNull();
      expect(parseStartDate('2016-02-02-08:00x')).toBeNull();
    });
  });

  describe('manager email', () => {
    const headers = [...BY_EMAIL, 'Manager Email'];

    it('lower-cases a manager who is in the source', () => {
      const rows = normalise(headers, [
        ['boss@x.com', 'B', 'B', ''],
        ['a@x.com', 'A', 'A', ' Boss@X.com'],
      ]);
      expect(valid(rows[1]).record.managerEmail).toBe('boss@x.com');
      expect(rows[1]!.warnings).toEqual([]);
    });

    it('accepts a manager who is only in the directory', () => {
      const row = valid(only(normalise(headers, [['a@x.com', 'A', 'A', 'boss@x.com']], ['boss@x.com'])));
      expect(row.warnings).toEqual([]);
    });

    it('asks the known-emails callback about managers outside the source', () => {
      const normaliser = createNormaliser(resolveColumns(headers));
      for (const record of records(headers, [['a@x.com', 'A', 'A', 'boss@x.com']])) normaliser.add(record);
      const asked: string[] = [];
      const rows = normaliser.finish((email) => {
        asked.push(email);
        return true;
      });
      expect(asked).toEqual(['boss@x.com']);
      expect(rows[0]!.warnings).toEqual([]);
    });

    it('keeps an unknown manager but warns about it', () => {
      const row = valid(only(normalise(headers, [['a@x.com', 'A', 'A', 'ghost@x.com']])));
      expect(row.record.managerEmail).toBe('ghost@x.com');
      expect(row.rejectedFields).toEqual([]);
      expect(row.warnings).toEqual([
        {
          rowNumber: 2,
          field: 'manager_email',
          message:
            "Manager ghost@x.com is not in the source or the directory; the value was kept. Check the manager's email.",
        },
      ]);
    });

    it('leaves out an invalid manager email with a warning and still applies the row', () => {
      const row = valid(only(normalise(headers, [['a@x.com', 'A', 'A', 'boss at x']])));
      expect(row.record.managerEmail).toBeNull();
      expect(row.rejectedFields).toEqual(['manager_email']);
      expect(row.warnings).toEqual([
        {
          rowNumber: 2,
          field: 'manager_email',
          message:
            'Manager email "boss at x" is not a valid email address; the manager was left unchanged. Correct it in the source.',
        },
      ]);
    });
  });

  describe('cell counts', () => {
    it('warns about a row with more cells than the header and still applies it', () => {
      const normaliser = createNormaliser(resolveColumns(BY_EMAIL));
      const record = { rowNumber: 2, values: { Email: 'a@x.com', 'First Name': 'A', 'Last Name': 'A' } };
      normaliser.add({
        ...record,
        columnCountMismatch: { expected: 3, found: 5, extraValues: ['x', 'y'] },
      });
      const row = valid(only(normaliser.finish(new Set())));
      expect(row.warnings).toEqual([
        {
          rowNumber: 2,
          field: null,
          message: 'Row has 5 cells, the header has 3; the extra cells were ignored.',
        },
      ]);
    });

    it('warns about a row with fewer cells than the header', () => {
      const normaliser = createNormaliser(resolveColumns([...BY_EMAIL, 'Phone']));
      const record = {
        rowNumber: 7,
        values: { Email: 'a@x.com', 'First Name': 'A', 'Last Name': 'A', Phone: '' },
      };
      normaliser.add({
        ...record,
        columnCountMismatch: { expected: 4, found: 3, extraValues: [] },
      });
      expect(valid(only(normaliser.finish(new Set()))).warnings).toEqual([
        {
          rowNumber: 7,
          field: null,
          message: 'Row has 3 cells, the header has 4; the missing cells were read as empty.',
        },
      ]);
    });
  });

  it('does not read a missing cell of a header named like an object member', () => {
    const headers = ['Email', 'First Name', 'Last Name', 'constructor'];
    const normaliser = createNormaliser(resolveColumns(headers, { location: 'constructor' }));
    normaliser.add({ rowNumber: 2, values: { Email: 'a@x.com', 'First Name': 'A', 'Last Name': 'A' } });
    expect(valid(only(normaliser.finish(new Set()))).record.location).toBeNull();
  });

  it('returns rows in source order and counts progress as it goes', () => {
    const normaliser = createNormaliser(resolveColumns(BY_EMAIL));
    expect(normaliser.presentFields).toEqual(new Set(['email', 'first_name', 'last_name']));
    const input = records(BY_EMAIL, [
      ['a@x.com', 'A', 'A'],
      ['bad', 'B', 'B'],
      ['c@x.com', 'C', 'C'],
      ['C@x.com', 'C', 'C'],
    ]);
    normaliser.add(input[0]!);
    normaliser.add(input[1]!);
    expect({ read: normaliser.read, skipped: normaliser.skipped, warnings: normaliser.warnings }).toEqual({
      read: 2,
      skipped: 1,
      warnings: 1,
    });
    normaliser.add(input[2]!);
    normaliser.add(input[3]!);
    const rows = normaliser.finish(new Set());
    expect(rows.map((row) => row.rowNumber)).toEqual([2, 3, 4, 5]);
    expect({ read: normaliser.read, skipped: normaliser.skipped, warnings: normaliser.warnings }).toEqual({
      read: 4,
      skipped: 3,
      warnings: 3,
    });
    expect(() => normaliser.add(input[0]!)).toThrow(/finished/);
  });
});

describe('the text a normaliser keeps', () => {
  const MB = 1024 * 1024;

  /** Adds HR rows until the budget stops them: how many went in, and the error. */
  function addUntilStopped(rows: Iterable<Record<string, string>>, budget: TextBudget) {
    const normaliser = createNormaliser(resolveColumns([...HR_COLUMNS]), { text: budget });
    let added = 0;
    try {
      for (const values of rows) {
        normaliser.add({ rowNumber: added + 2, values });
        added++;
      }
    } catch (error) {
      if (!(error instanceof SourceError)) throw error;
      return { added, error };
    }
    return { added, error: null };
  }

  it('fails with SizeLimitExceeded once distinct values pass the limit, long before the last row', () => {
    // 2,000 rows of four unique 1,000-character values: 8 MB of text, against a 1 MB limit.
    const { added, error } = addUntilStopped(longValueRows(2000), new TextBudget(MB, 'test:/file'));
    expect(error).toMatchObject({
      kind: 'SizeLimitExceeded',
      message: 'test:/file holds more than 1 MB of text, the limit for this configuration (maxTextBytes).',
    });
    expect(error?.hint).toMatch(/raise maxTextBytes/);
    expect(added).toBeGreaterThan(200);
    expect(added).toBeLessThan(300);
  });

  it('counts a repeated value once: 2,000 rows sharing one 1,000-character department fit in 1 MB', () => {
    const department = 'D'.repeat(1000);
    const rows = Array.from(iterateHrRows(2000), (row) => ({ ...row, department }));
    expect(addUntilStopped(rows, new TextBudget(MB, 'test:/file')).error).toBeNull();
  });

  it('counts the copies it makes: one long upper-case value in every field stops at the limit', () => {
    // The shape of a shared-strings bomb: the reader hands on one string, lower-casing copies it per row.
    const long = 'LOL'.repeat(333);
    const rows = Array.from({ length: 2000 }, () =>
      Object.fromEntries(HR_COLUMNS.map((column) => [column, long])),
    );
    const { added, error } = addUntilStopped(rows, new TextBudget(MB, 'test:/file'));
    expect(error?.kind).toBe('SizeLimitExceeded');
    expect(added).toBeLessThan(1000);
  });

  it('keeps 200,000 generated users well inside the default limit', () => {
    const budget = new TextBudget(DEFAULT_MAX_TEXT_BYTES, 'test:/file');
    expect(addUntilStopped(iterateHrRows(200_000), budget)).toEqual({ added: 200_000, error: null });
    expect(budget.used).toBeLessThan(DEFAULT_MAX_TEXT_BYTES / 8);
  });
});

describe('isValidEmail', () => {
  it('accepts ordinary addresses', () => {
    for (const email of [
      'a@x.co',
      'first.last+tag@sub.example.org',
      "o'brien@example.ie",
      'x@xn--bcher-kva.de',
    ]) {
      expect(isValidEmail(email), email).toBe(true);
    }
  });

  it('refuses malformed addresses', () => {
    for (const email of [
      'plain',
      '@x.com',
      'a@',
      'a@x',
      'a@@x.com',
      'a b@x.com',
      '.a@x.com',
      'a.@x.com',
      'a..b@x.com',
      'a@-x.com',
      'a@x-.com',
      'a@x..com',
      'a@x.c',
      'a@x.123',
      '"quoted"@x.com',
      'josé@x.com',
      `${'a'.repeat(65)}@x.com`,
      `a@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(60)}.com`,
    ]) {
      expect(isValidEmail(email), email).toBe(false);
    }
    expect(isValidEmail(`${'a'.repeat(64)}@x.com`)).toBe(true);
  });
});
