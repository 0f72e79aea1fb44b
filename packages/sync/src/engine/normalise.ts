import {
  DEFAULT_MAX_TEXT_BYTES,
  DIRECTORY_FIELD_TABLE,
  DIRECTORY_FIELDS,
  type DirectoryField,
  DIRECTORY_FIELD_LABELS as LABELS,
} from '@provisioning/shared';
import { type SourceRecord, TextBudget } from '../connectors/source.ts';
import type { ColumnMap } from './columns.ts';
import { createInterner, internRepeating } from './intern.ts';
import {
  type DirectoryRecord,
  type DirectoryRecordField,
  type NormalisedRow,
  RECORD_PROPERTIES,
  type RowWarning,
} from './types.ts';

/** Longer values are hostile or broken input: the row is skipped rather than silently truncated. */
export const MAX_FIELD_LENGTH = 1000;
export const MAX_EXTERNAL_ID_LENGTH = 256;
/** RFC 5321: a forward path holds at most 256 octets including the angle brackets. */
export const MAX_EMAIL_LENGTH = 254;
const MAX_EMAIL_LOCAL_LENGTH = 64;

/** A source record; a connector may mark its cell-count mismatch (SourceRecord.columnCountMismatch). */
export type NormaliserInput = SourceRecord;

/** Emails (lower-case) of the organisation's directory users, to tell whether a manager exists. */
export type KnownEmails = ReadonlySet<string> | ((email: string) => boolean);

export interface Normaliser {
  /**
   * Validates one record; the rows are only final after `finish` (duplicates need the whole set). Throws
   * the text budget's SizeLimitExceeded error once the rows kept hold more text than it allows.
   */
  add(record: NormaliserInput): void;
  /** Applies the checks that need every row (duplicate keys, unknown managers); rows in source order. */
  finish(knownEmails: KnownEmails): NormalisedRow[];
  /** The fields the source has a column for (the planner's `presentFields`). */
  readonly presentFields: ReadonlySet<DirectoryField>;
  /** Records added so far, for progress. */
  readonly read: number;
  /** Rows skipped so far; duplicates are only counted once `finish` has run. */
  readonly skipped: number;
  /** Warnings so far, over all rows. */
  readonly warnings: number;
}

export interface NormaliserOptions {
  /**
   * Charged with the text each row adds to what the run holds; `add` throws its SizeLimitExceeded error
   * once past the limit. Default: a budget of DEFAULT_MAX_TEXT_BYTES.
   */
  text?: TextBudget;
}

const PROPERTIES = DIRECTORY_FIELDS.map((field) => [field, RECORD_PROPERTIES[field]] as const);

/** A record being read: any field may still be missing. */
type Draft = { [P in DirectoryRecordField]: string | null };

/** Every field null, copied for each row: one spread of a constant object, with the record's shape. */
const EMPTY_DRAFT: Readonly<Draft> = Object.fromEntries(
  DIRECTORY_FIELD_TABLE.map((entry) => [entry.property, null]),
) as Draft;

/** The required fields besides the email (checked on its own, as an address): the names. */
const OTHER_REQUIRED = DIRECTORY_FIELD_TABLE.filter((entry) => entry.required && entry.field !== 'email').map(
  (entry) => [entry.field, entry.property] as const,
);

// Dot-atoms only (no quoted local parts, no IP literals): what directories and mail providers accept.
const EMAIL_PATTERN =
  /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

/** A pragmatic RFC 5321 check of a lower-cased address: ASCII dot-atom local part, a dotted host name. */
export function isValidEmail(email: string): boolean {
  if (email.length > MAX_EMAIL_LENGTH || !EMAIL_PATTERN.test(email)) return false;
  return email.indexOf('@') <= MAX_EMAIL_LOCAL_LENGTH;
}

// YYYY-MM-DD or YYYY/MM/DD, optionally with the time part Excel and ISO exports add, or with the bare
// offset Workday writes after a date (xsd:date: `2016-02-02-08:00`, `2016-02-02Z`).
const DATE_PATTERN =
  /^(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?|Z|[+-]\d{2}:\d{2})?$/i;

/**
 * The ISO date (YYYY-MM-DD) of a start date, or null. Day-first and month-first forms (15/01/2024,
 * 01/15/2024) are refused: which one a file means cannot be told from a single value. A time part is
 * dropped as written, without shifting time zones.
 */
export function parseStartDate(value: string): string | null {
  const match = DATE_PATTERN.exec(value);
  if (!match) return null;
  const year = Number(match[1]);
  const month = Number(match[3]);
  const day = Number(match[4]);
  if (year < 1900 || month < 1 || month > 12 || day < 1) return null;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  if (day > days) return null;
  return `${match[1]}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

const CONTROL = /\p{Cc}/u;
const CONTROL_RUNS = /\p{Cc}+/gu;

/**
 * Trimmed text, or null when empty. Control characters (a quoted newline, a NUL that PostgreSQL would
 * refuse) become a single space: they cannot be stored or shown safely, and carry no meaning in a field.
 */
function clean(raw: unknown): string | null {
  // Guard the type: a header such as `constructor` would otherwise read Object.prototype's member.
  if (typeof raw !== 'string' || raw === '') return null;
  const text = (CONTROL.test(raw) ? raw.replace(CONTROL_RUNS, ' ') : raw).trim();
  return text === '' ? null : text;
}

/** A value for a message: quoted, and short enough to read. */
function shown(value: string): string {
  return value.length > 80 ? `"${value.slice(0, 80)}…"` : `"${value}"`;
}

const MAX_LISTED_ROWS = 10;

function otherRows(group: readonly number[], self: number, rowNumbers: (index: number) => number): string {
  const others: number[] = [];
  for (const index of group) {
    if (index === self) continue;
    if (others.length === MAX_LISTED_ROWS) break;
    others.push(rowNumbers(index));
  }
  const more = group.length - 1 - others.length;
  const list = others.join(', ');
  if (more > 0) return `rows ${list} and ${more} more`;
  return others.length === 1 ? `row ${list}` : `rows ${list}`;
}

class RowNormaliser implements Normaliser {
  private readonly rows: NormalisedRow[] = [];
  /** Key → index of the first row with it; the rows of keys seen more than once are in keyGroups. */
  private readonly keyFirst = new Map<string, number>();
  private readonly keyGroups = new Map<string, number[]>();
  /** The same by email, when the key is the employee ID (else keyFirst is by email already). */
  private readonly emailFirst: Map<string, number>;
  private readonly emailGroups: Map<string, number[]>;
  private readonly intern = createInterner();
  private readonly text: TextBudget;
  private done = false;
  private skippedCount = 0;
  private warningCount = 0;

  constructor(
    private readonly columns: ColumnMap,
    options: NormaliserOptions,
  ) {
    this.text = options.text ?? new TextBudget(DEFAULT_MAX_TEXT_BYTES, 'The source');
    const byEmail = columns.key === 'email';
    this.emailFirst = byEmail ? this.keyFirst : new Map();
    this.emailGroups = byEmail ? this.keyGroups : new Map();
  }

  get presentFields(): ReadonlySet<DirectoryField> {
    return this.columns.present;
  }

  get read(): number {
    return this.rows.length;
  }

  get skipped(): number {
    return this.skippedCount;
  }

  get warnings(): number {
    return this.warningCount;
  }

  add(source: NormaliserInput): void {
    if (this.done) throw new Error('The normaliser has finished; create a new one for another source.');
    const { rowNumber } = source;
    const warnings: RowWarning[] = [];
    if (source.columnCountMismatch !== undefined) {
      warnCellCount(warnings, rowNumber, source.columnCountMismatch);
    }
    // Every field starts null; a valid row has its email and names set by the checks below. Each check
    // runs whatever the ones before found, so that a row's every problem is reported at once.
    const record: Draft = { ...EMPTY_DRAFT };
    const before = warnings.length;
    const read = readFields(record, source.values, this.columns.fields, rowNumber, warnings);
    // readFields warns only of an over-long value, which skips the row.
    let skip = warnings.length > before;
    if (this.columns.key === 'employee_id') skip = checkExternalId(record, rowNumber, warnings) || skip;
    skip = checkEmail(record, rowNumber, warnings) || skip;
    skip = checkOtherRequired(record, rowNumber, warnings) || skip;
    let rejectedFields = rejectInvalidManager(record, rowNumber, warnings, NONE_REJECTED);
    rejectedFields = rejectUnparseableStartDate(record, rowNumber, warnings, rejectedFields);
    const reused = this.intern.reused;
    internRepeating(record, this.intern);
    // What the row adds to the text held: its values, less those it shares with earlier rows. The checks
    // above only shorten values or swap them for same-length copies (lower-cased), so this is an upper bound.
    const kept = read - (this.intern.reused - reused);
    this.keep(rowNumber, record, skip, rejectedFields, warnings, kept);
  }

  /** Files the row under its keys (for duplicates) and keeps it, skipped or valid. */
  private keep(
    rowNumber: number,
    record: Draft,
    skip: boolean,
    rejectedFields: readonly DirectoryField[],
    warnings: RowWarning[],
    kept: number,
  ): void {
    const keyIsEmployeeId = this.columns.key === 'employee_id';
    const email = record.email;
    const index = this.rows.length;
    // A skipped row still names its key, so that the user behind it is protected from deactivation.
    const key = keyIsEmployeeId ? (record.externalId?.toLowerCase() ?? null) : email;
    // Lower-casing made a copy (a key is held by the maps below too); a skipped row's name is a new string.
    let held = kept + (key !== null && key !== record.externalId && key !== email ? key.length : 0);
    const name = skip ? nameOf(record) : null;
    if (name !== null) held += name.length;
    this.text.add(held);
    if (key !== null) remember(this.keyFirst, this.keyGroups, key, index);
    if (keyIsEmployeeId && email !== null) remember(this.emailFirst, this.emailGroups, email, index);

    this.warningCount += warnings.length;
    if (skip) {
      this.skippedCount++;
      this.rows.push({
        kind: 'skipped',
        rowNumber,
        key,
        externalId: record.externalId,
        email,
        name,
        warnings,
      });
    } else {
      // Not skipped: the key, the email and both names were checked present.
      this.rows.push({
        kind: 'valid',
        rowNumber,
        key: key!,
        record: record as DirectoryRecord,
        rejectedFields,
        warnings,
      });
    }
  }

  finish(knownEmails: KnownEmails): NormalisedRow[] {
    if (this.done) throw new Error('The normaliser has already finished.');
    this.done = true;
    const rows = this.rows;
    const rowNumber = (index: number) => rows[index]!.rowNumber;
    const keyIsEmployeeId = this.columns.key === 'employee_id';
    const keyField: DirectoryField = keyIsEmployeeId ? 'employee_id' : 'email';
    const keyLabel = keyIsEmployeeId ? 'employee ID' : 'email';

    for (const group of this.keyGroups.values()) {
      for (const index of group) {
        const row = rows[index]!;
        const value = keyIsEmployeeId ? externalIdOf(row) : emailOf(row);
        this.skipDuplicate(
          index,
          keyField,
          `Duplicate ${keyLabel} ${shown(value ?? '')}: also on ${otherRows(group, index, rowNumber)}. ` +
            `None of these rows was applied and the existing user was kept; fix the source so each ${keyLabel} appears once.`,
        );
      }
    }
    if (keyIsEmployeeId) {
      for (const group of this.emailGroups.values()) {
        for (const index of group) {
          this.skipDuplicate(
            index,
            'email',
            `Email ${shown(emailOf(rows[index]!) ?? '')} is also on ${otherRows(group, index, rowNumber)}. ` +
              'None of these rows was applied and the existing users were kept; fix the source so each email appears once.',
          );
        }
      }
    }

    const known = typeof knownEmails === 'function' ? knownEmails : (email: string) => knownEmails.has(email);
    for (const row of rows) {
      if (row.kind !== 'valid') continue;
      const manager = row.record.managerEmail;
      if (manager === null || this.emailFirst.has(manager) || known(manager)) continue;
      // Kept: the manager may be added to the directory later, and dropping the value would lose it.
      row.warnings.push({
        rowNumber: row.rowNumber,
        field: 'manager_email',
        message: `Manager ${manager} is not in the source or the directory; the value was kept. Check the manager's email.`,
      });
      this.warningCount++;
    }
    return rows;
  }

  private skipDuplicate(index: number, field: DirectoryField, message: string): void {
    const row = this.rows[index]!;
    row.warnings.push({ rowNumber: row.rowNumber, field, message });
    this.warningCount++;
    if (row.kind === 'skipped') return;
    this.skippedCount++;
    this.rows[index] = {
      kind: 'skipped',
      rowNumber: row.rowNumber,
      key: row.key,
      externalId: row.record.externalId,
      email: row.record.email,
      name: nameOf(row.record),
      warnings: row.warnings,
    };
  }
}

/** Shared by the rows (nearly all) without a rejected field. */
const NONE_REJECTED: readonly DirectoryField[] = Object.freeze([]);

// The checks of one row, in the order `add` runs them. Each takes the row's record and warnings and
// returns whether the row is skipped (or, for values refused alone, the fields refused so far): plain
// functions, so that no closure is made per row.

function warnCellCount(
  warnings: RowWarning[],
  rowNumber: number,
  { found, expected }: { found: number; expected: number },
): void {
  warn(
    warnings,
    rowNumber,
    null,
    found > expected
      ? `Row has ${found} cells, the header has ${expected}; the extra cells were ignored.`
      : `Row has ${found} cells, the header has ${expected}; the missing cells were read as empty.`,
  );
}

/** Reads every mapped field's cleaned value into `record`, warning of an over-long one; returns the characters read. */
function readFields(
  record: Draft,
  values: NormaliserInput['values'],
  headers: ColumnMap['fields'],
  rowNumber: number,
  warnings: RowWarning[],
): number {
  let characters = 0;
  for (const [field, property] of PROPERTIES) {
    const header = headers[field];
    if (header === undefined) continue;
    const value = clean(values[header]);
    if (value !== null && value.length > MAX_FIELD_LENGTH) {
      warn(
        warnings,
        rowNumber,
        field,
        `${LABELS[field]} is ${value.length.toLocaleString('en-US')} characters long, more than the ` +
          `${MAX_FIELD_LENGTH.toLocaleString('en-US')} allowed; the row was skipped. Shorten it in the source.`,
      );
      continue;
    }
    record[property] = value;
    if (value !== null) characters += value.length;
  }
  return characters;
}

/** When the source has an employee ID column, every row needs a usable one. */
function checkExternalId(record: Draft, rowNumber: number, warnings: RowWarning[]): boolean {
  const externalId = record.externalId;
  if (externalId === null) {
    if (reported(warnings, 'employee_id')) return false;
    warn(
      warnings,
      rowNumber,
      'employee_id',
      'Employee ID is missing; the row was skipped. The file has an employee ID column, so every row needs one.',
    );
    return true;
  }
  if (externalId.length > MAX_EXTERNAL_ID_LENGTH) {
    warn(
      warnings,
      rowNumber,
      'employee_id',
      `Employee ID is ${externalId.length} characters long, more than the ${MAX_EXTERNAL_ID_LENGTH} allowed; the row was skipped.`,
    );
    return true;
  }
  return false;
}

/** Lower-cases the email and checks it is an address. */
function checkEmail(record: Draft, rowNumber: number, warnings: RowWarning[]): boolean {
  // Stored lower-case: emails match case-insensitively, and one spelling keeps reruns free of changes.
  const email = record.email?.toLowerCase() ?? null;
  record.email = email;
  if (email === null) {
    if (reported(warnings, 'email')) return false;
    warn(warnings, rowNumber, 'email', 'Email is missing; the row was skipped.');
    return true;
  }
  if (!isValidEmail(email)) {
    warn(
      warnings,
      rowNumber,
      'email',
      `Email ${shown(email)} is not a valid email address; the row was skipped. Correct it in the source.`,
    );
    return true;
  }
  return false;
}

/** The other required fields (the names) must be present. */
function checkOtherRequired(record: Draft, rowNumber: number, warnings: RowWarning[]): boolean {
  let skip = false;
  for (const [field, property] of OTHER_REQUIRED) {
    if (record[property] === null && !reported(warnings, field)) {
      skip = true;
      warn(warnings, rowNumber, field, `${LABELS[field]} is missing; the row was skipped.`);
    }
  }
  return skip;
}

/** Lower-cases the manager's email; an invalid one is refused alone and the row still applies. */
function rejectInvalidManager(
  record: Draft,
  rowNumber: number,
  warnings: RowWarning[],
  rejectedFields: readonly DirectoryField[],
): readonly DirectoryField[] {
  if (record.managerEmail === null) return rejectedFields;
  const manager = record.managerEmail.toLowerCase();
  if (isValidEmail(manager)) {
    record.managerEmail = manager;
    return rejectedFields;
  }
  record.managerEmail = null;
  warn(
    warnings,
    rowNumber,
    'manager_email',
    `Manager email ${shown(manager)} is not a valid email address; the manager was left unchanged. Correct it in the source.`,
  );
  return [...rejectedFields, 'manager_email'];
}

/** Turns the start date into an ISO date; an unparseable one is refused alone and the row still applies. */
function rejectUnparseableStartDate(
  record: Draft,
  rowNumber: number,
  warnings: RowWarning[],
  rejectedFields: readonly DirectoryField[],
): readonly DirectoryField[] {
  if (record.startDate === null) return rejectedFields;
  const date = parseStartDate(record.startDate);
  const given = record.startDate;
  record.startDate = date;
  if (date !== null) return rejectedFields;
  warn(
    warnings,
    rowNumber,
    'start_date',
    `Start date ${shown(given)} is not a date in the form YYYY-MM-DD; the start date was left unchanged.`,
  );
  return [...rejectedFields, 'start_date'];
}

function warn(
  warnings: RowWarning[],
  rowNumber: number,
  field: DirectoryField | null,
  message: string,
): void {
  warnings.push({ rowNumber, field, message });
}

/** A field already reported (as over-long) is not reported again (as missing). */
function reported(warnings: readonly RowWarning[], field: DirectoryField): boolean {
  return warnings.some((warning) => warning.field === field);
}

function remember(first: Map<string, number>, groups: Map<string, number[]>, key: string, index: number) {
  const earlier = first.get(key);
  if (earlier === undefined) {
    first.set(key, index);
    return;
  }
  const group = groups.get(key);
  if (group) group.push(index);
  else groups.set(key, [earlier, index]);
}

function nameOf(record: { firstName: string | null; lastName: string | null }): string | null {
  const name = [record.firstName, record.lastName].filter(Boolean).join(' ');
  return name === '' ? null : name;
}

const externalIdOf = (row: NormalisedRow) => (row.kind === 'valid' ? row.record.externalId : row.externalId);
const emailOf = (row: NormalisedRow) => (row.kind === 'valid' ? row.record.email : row.email);

/**
 * Turns source records into NormalisedRows. Feed it while reading the source; every warning names the row
 * and the field.
 *
 * - Values are trimmed, empty becomes null; emails are lower-cased.
 * - Skipped (with the key kept, to protect the user behind it): a missing or invalid email, a missing first
 *   or last name, a missing employee ID when the source has that column, an employee ID over 256 characters,
 *   any value over 1,000 characters (hostile or broken input: not truncated), and every row sharing its key
 *   (or, when the key is the employee ID, its email) with another row.
 * - Applied without the value (the user keeps the current one): an unparseable start date, an invalid
 *   manager email.
 * - Applied with the value and a warning: a manager who is neither in the source nor in the directory (they
 *   may be added later), a row whose cell count differs from the header's.
 */
export function createNormaliser(columns: ColumnMap, options: NormaliserOptions = {}): Normaliser {
  return new RowNormaliser(columns, options);
}
