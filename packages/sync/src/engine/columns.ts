import {
  DIRECTORY_FIELDS,
  type DirectoryField,
  type FieldMapping,
  REQUIRED_DIRECTORY_FIELDS,
} from '@provisioning/shared';
import { SourceError } from '../connectors/source.ts';

/** Which source column each directory field is read from. */
export interface ColumnMap {
  /** Directory field → source header, for the fields the source has a column for. */
  fields: Partial<Record<DirectoryField, string>>;
  /** The fields the source has a column for: only these are compared and written, so a column the source
   * lacks never wipes the directory's values. */
  present: ReadonlySet<DirectoryField>;
  /** The matching key: employee_id when the source has that column, else email. */
  key: 'employee_id' | 'email';
}

const MAPPING_HINT =
  "Fix the file's header row, or the configuration's field mapping, so that every required column " +
  `(${REQUIRED_DIRECTORY_FIELDS.join(', ')}) and every mapped column is present.`;
const AMBIGUOUS_HINT =
  "Rename or remove one of the columns in the file's header row, or map the field to one column in the " +
  "configuration's field mapping.";
/** Enough of the header row to recognise it in a message, without echoing a hostile 10,000-column row. */
const MAX_LISTED_HEADERS = 50;
const MAX_LISTED_HEADER_LENGTH = 100;

/** `Employee ID`, `EMPLOYEE_ID` and `employeeid` all become `employeeid`. */
const headerKey = (name: string) => name.toLowerCase().replace(/[\s_]+/g, '');
const FIELD_BY_HEADER_KEY = new Map<string, DirectoryField>(
  DIRECTORY_FIELDS.map((field) => [headerKey(field), field]),
);

const quote = (name: string) => `\`${name}\``;

function listHeaders(headers: readonly string[]): string {
  if (headers.length === 0) return '(no columns)';
  const shown = headers.slice(0, MAX_LISTED_HEADERS).map((header) => {
    const clean = header.replace(/\p{Cc}+/gu, ' ').trim();
    return clean.length > MAX_LISTED_HEADER_LENGTH ? `${clean.slice(0, MAX_LISTED_HEADER_LENGTH)}…` : clean;
  });
  const more = headers.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

function listColumns(columns: readonly string[]): string {
  return columns.length === 2
    ? `${quote(columns[0]!)} and ${quote(columns[1]!)}`
    : `${columns.slice(0, -1).map(quote).join(', ')} and ${quote(columns.at(-1)!)}`;
}

const bothOrAll = (columns: readonly string[]) => (columns.length === 2 ? 'both' : 'all');

/**
 * Maps the source's header row to directory fields, or throws SourceError('MissingColumns') naming every
 * problem at once. A mapped field is read from its mapped column (matched case-insensitively when no header
 * matches exactly); a field the mapping leaves out falls back to the header matching its name case-, space-
 * and underscore-insensitively, among the columns the mapping has not taken.
 */
export function resolveColumns(
  headers: readonly string[],
  mapping: FieldMapping = {},
  /**
   * The connector's own column names for fields the mapping and the header fallback leave unresolved
   * (SourceTable.defaultColumns): the first candidate the source has, and nothing else has taken, wins.
   */
  defaultColumns: Partial<Record<DirectoryField, readonly string[]>> = {},
): ColumnMap {
  const problems: string[] = [];
  let ambiguous = false;
  let missingColumn = false;
  const fields: Partial<Record<DirectoryField, string>> = {};
  const taken = new Set<string>();

  for (const field of DIRECTORY_FIELDS) {
    const column = mapping[field];
    if (column === undefined) continue;
    const wanted = column.trim();
    let matches = headers.filter((header) => header.trim() === wanted);
    if (matches.length === 0) {
      const lower = wanted.toLowerCase();
      matches = headers.filter((header) => header.trim().toLowerCase() === lower);
    }
    if (matches.length === 0) {
      missingColumn = true;
      problems.push(`Mapped column ${quote(column)} (for ${field}) not found.`);
    } else if (matches.length > 1) {
      ambiguous = true;
      problems.push(
        `Columns ${listColumns(matches)} ${bothOrAll(matches)} match the mapped column ${quote(column)} (for ${field}).`,
      );
    } else {
      fields[field] = matches[0]!;
      taken.add(matches[0]!);
    }
  }

  const candidates = new Map<DirectoryField, string[]>();
  for (const header of headers) {
    if (taken.has(header)) continue;
    const field = FIELD_BY_HEADER_KEY.get(headerKey(header));
    if (field === undefined || mapping[field] !== undefined) continue;
    const list = candidates.get(field);
    if (list) list.push(header);
    else candidates.set(field, [header]);
  }
  for (const [field, matches] of candidates) {
    if (matches.length > 1) {
      ambiguous = true;
      problems.push(`Columns ${listColumns(matches)} ${bothOrAll(matches)} match ${field}.`);
    } else {
      fields[field] = matches[0]!;
    }
  }

  for (const header of candidates.values()) taken.add(header[0]!);
  for (const field of DIRECTORY_FIELDS) {
    if (mapping[field] !== undefined || candidates.has(field)) continue;
    const column = defaultColumns[field]?.find((name) => headers.includes(name) && !taken.has(name));
    if (column === undefined) continue;
    fields[field] = column;
    taken.add(column);
  }

  const missing = REQUIRED_DIRECTORY_FIELDS.filter(
    (field) => mapping[field] === undefined && !candidates.has(field) && fields[field] === undefined,
  );
  if (missing.length === 1) problems.push(`Missing required column ${quote(missing[0]!)}.`);
  if (missing.length > 1) problems.push(`Missing required columns ${missing.map(quote).join(', ')}.`);

  if (problems.length > 0) {
    throw new SourceError('MissingColumns', `${problems.join(' ')} Found: ${listHeaders(headers)}`, {
      hint: [missingColumn || missing.length > 0 ? MAPPING_HINT : '', ambiguous ? AMBIGUOUS_HINT : '']
        .filter(Boolean)
        .join(' '),
    });
  }

  const present = new Set(Object.keys(fields) as DirectoryField[]);
  return {
    fields,
    present,
    key: present.has('employee_id') ? 'employee_id' : 'email',
  };
}
