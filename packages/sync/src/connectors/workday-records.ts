import type { DirectoryField, FieldMapping, WorkdaySettings } from '@provisioning/shared';
import { resolveColumns } from '../engine/columns.ts';
import { type ConnectorTable, SourceError, type SourceRecord } from './source.ts';
import { type SourceDescription, withFingerprint } from './source-fingerprint.ts';

/**
 * Workday's records, whichever way they were read (a report's entries, Get_Workers' workers): objects
 * keyed by column, handed to the engine as source records, inactive workers left out.
 */

/** Records handed out per batch. */
export const WORKDAY_BATCH_SIZE = 256;

/**
 * The column names of a typical Workday report (and of the records Get_Workers gives), tried for a
 * directory field the configuration's mapping and the header-name fallback leave unresolved.
 */
export const WORKDAY_DEFAULT_COLUMNS: Partial<Record<DirectoryField, readonly string[]>> = {
  employee_id: ['Employee_ID', 'Worker_ID'],
  email: ['Email_Address', 'Work_Email', 'primaryWorkEmail'],
  first_name: ['Legal_First_Name', 'First_Name'],
  last_name: ['Legal_Last_Name', 'Last_Name'],
  job_title: ['Business_Title'],
  department: ['Supervisory_Organization', 'Cost_Center', 'Department'],
  location: ['Location'],
  manager_email: ['Manager_Email'],
  start_date: ['Hire_Date'],
};

/** Where a worker's status is read when statusColumn is not set: the first of these the report has. */
const STATUS_COLUMNS = ['Active', 'Worker_Status'];
const INACTIVE_VALUES = new Set(['0', 'false', 'terminated', 'inactive']);

/** Whether a status value says the worker is not active (`0`, `false`, `Terminated`, `Inactive`). */
export function isInactiveStatus(value: string): boolean {
  return INACTIVE_VALUES.has(value.trim().toLowerCase());
}

/**
 * The entries of an answer, by position: held as objects (Get_Workers' records) or read from the answer
 * when asked for (a report's entries, each parsed from its part of the document), so that the whole
 * document is never held as objects beside the engine's records.
 */
export interface EntrySource {
  count: number;
  /** The entry at `index`, read again on each call; throws SourceError when it cannot be read. */
  entryAt(index: number): unknown;
  /** The entry at `index` was handed on and will not be asked for again. */
  handedOn?(index: number): void;
  /** Every entry was handed on, or the table was closed. */
  release?(): void;
}

/** Entries held as objects, each let go once handed on. */
export function heldEntries(entries: unknown[]): EntrySource {
  return {
    count: entries.length,
    entryAt: (index) => entries[index],
    handedOn: (index) => {
      entries[index] = undefined;
    },
  };
}

interface EntriesTableOptions {
  /** Names the source in `origin` and messages. */
  source: string;
  settings: WorkdaySettings;
  mapping?: FieldMapping;
  /** What an entry is called in messages: Report_Entry, Worker. */
  entryName: string;
  /** The answers read, and where from, for the table's fingerprint. */
  read: Pick<SourceDescription, 'origin' | 'digest' | 'paged'>;
}

/**
 * Hands out entries (objects keyed by column) as source records, a batch at a time, inactive workers
 * left out. Headers are every key of every entry, in the order first seen. Missing and `null` read as
 * empty, numbers and booleans as their text; an object or a list in a column the sync reads fails the
 * load, one in a column it does not read is ignored. A record's rowNumber is the entry's position in the answer (1 for the first), so that a log names the
 * same entry after inactive ones were left out.
 */
export function entriesTable(entries: EntrySource, table: EntriesTableOptions): ConnectorTable {
  const headerSet = new Set<string>();
  for (let index = 0; index < entries.count; index++) {
    const entry = entries.entryAt(index);
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) continue;
    for (const key in entry) headerSet.add(key);
  }
  const headers = [...headerSet];
  const statusColumn = table.settings.statusColumn ?? STATUS_COLUMNS.find((column) => headerSet.has(column));
  if (statusColumn !== undefined && !headerSet.has(statusColumn)) {
    throw new SourceError(
      'MissingColumns',
      `The status column ${statusColumn} (statusColumn) is not in ${table.source}.`,
      {
        hint: "Add the column to the report (a worker's active status), or correct statusColumn in the configuration.",
      },
    );
  }
  const used = usedColumns(headers, table.mapping, statusColumn);

  let inactive = 0;
  const active: number[] = [];
  for (let index = 0; index < entries.count; index++) {
    const entry = entries.entryAt(index);
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new SourceError(
        'BadResponse',
        `${table.entryName} ${index + 1} of ${table.source} is not an object: ${JSON.stringify(entry)?.slice(0, 100)}.`,
        { hint: 'Contact support with this message: the answer does not have the shape Workday gives.' },
      );
    }
    const status = statusColumn === undefined ? undefined : (entry as Record<string, unknown>)[statusColumn];
    if (status !== undefined && status !== null && isInactiveStatus(String(status))) inactive++;
    else active.push(index);
  }
  const left = inactive === 0 ? '' : `; ${inactive.toLocaleString('en-US')} inactive left out`;
  const origin = `${table.source} (${entries.count.toLocaleString('en-US')} workers${left})`;

  async function* batches(): AsyncGenerator<SourceRecord[]> {
    for (let start = 0; start < active.length; start += WORKDAY_BATCH_SIZE) {
      const batch: SourceRecord[] = [];
      for (const index of active.slice(start, start + WORKDAY_BATCH_SIZE)) {
        batch.push({ rowNumber: index + 1, values: recordValues(entries.entryAt(index) as object, index) });
        entries.handedOn?.(index);
      }
      yield batch;
    }
    entries.release?.();
  }

  function recordValues(entry: object, index: number): Record<string, string> {
    const values: Record<string, string> = {};
    for (const [key, value] of Object.entries(entry)) {
      if (value === null || value === undefined) continue;
      if (typeof value === 'object') {
        if (!used.has(key)) continue;
        throw new SourceError(
          'BadResponse',
          `${table.entryName} ${index + 1} of ${table.source} has ${Array.isArray(value) ? 'a list' : 'an object'} in ${key}, where the sync reads one value: ${JSON.stringify(value).slice(0, 100)}.`,
          {
            hint: `In the report definition, make ${key} a single-instance field (or pick one instance, e.g. the primary one), or map the directory field to another column.`,
          },
        );
      }
      values[key] = typeof value === 'string' ? value : String(value);
    }
    return values;
  }

  return withFingerprint(
    {
      origin,
      headers,
      batches: batches(),
      defaultColumns: WORKDAY_DEFAULT_COLUMNS,
      close: async () => {
        entries.release?.();
      },
    },
    { connector: 'workday', ...table.read, leftOutInactive: () => inactive },
  );
}

/** The columns the sync reads: those the fields resolve to, and the status column. */
function usedColumns(
  headers: readonly string[],
  mapping: FieldMapping | undefined,
  statusColumn: string | undefined,
): Set<string> {
  const used = new Set<string>(statusColumn === undefined ? [] : [statusColumn]);
  try {
    for (const column of Object.values(resolveColumns(headers, mapping, WORKDAY_DEFAULT_COLUMNS).fields)) {
      used.add(column);
    }
  } catch {
    // Columns that do not resolve fail the run in the engine, with the message that names them.
  }
  return used;
}
