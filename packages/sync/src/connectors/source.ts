import type { BlockList } from 'node:net';
import type { DirectoryField, FieldMapping, SourceFingerprint } from '@provisioning/shared';
import { formatBytes } from '../files/raw-rows.ts';

/**
 * What every connector hands the engine: the header row and an async stream of source records, or a
 * typed SourceError. A SourceError anywhere before apply means Data Load Failed with nothing written.
 */

export const SOURCE_ERROR_KINDS = [
  'SourceUnreachable',
  'AuthFailed',
  'HostKeyMismatch',
  'SourceNotFound',
  'UnsupportedFormat',
  'CorruptFile',
  'BadEncoding',
  'MissingColumns',
  'NoDataRows',
  'SizeLimitExceeded',
  'Interrupted',
  'BadResponse',
] as const;
export type SourceErrorKind = (typeof SOURCE_ERROR_KINDS)[number];

export class SourceError extends Error {
  readonly kind: SourceErrorKind;
  /** What a person should do about it, shown in the error log beside the message. */
  readonly hint: string;
  /** Worth retrying with backoff (network trouble), as opposed to a problem someone must fix. */
  readonly transient: boolean;
  /**
   * The source as read, when the load failed only after every byte of it was read (a downloaded file that
   * turns out empty or unreadable): the run keeps it with Data Load Failed.
   */
  fingerprint?: SourceFingerprint;

  constructor(
    kind: SourceErrorKind,
    message: string,
    options: { hint: string; transient?: boolean; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = 'SourceError';
    this.kind = kind;
    this.hint = options.hint;
    this.transient = options.transient ?? false;
  }
}

/**
 * The source text one run may hold (maxTextBytes), counted while reading so that a hostile file fails
 * before it is in memory. Rows and file size do not bound it: a small file can repeat or reference text
 * many times. What is charged: an XLSX file's shared strings as they are read, each reference to one (it
 * hands the text on again), and each distinct value the engine keeps (a repeated value once). Characters
 * are counted as bytes, as V8 stores Latin text; other scripts take up to twice as much.
 */
export class TextBudget {
  used = 0;

  constructor(
    readonly limit: number,
    /** Names the source in the error. */
    readonly origin: string,
  ) {}

  /** Counts `characters` more; past the limit, fails the load. */
  add(characters: number): void {
    this.used += characters;
    if (this.used > this.limit) throw this.exceeded();
  }

  exceeded(): SourceError {
    return new SourceError(
      'SizeLimitExceeded',
      `${this.origin} holds more than ${formatBytes(this.limit)} of text, the limit for this configuration (maxTextBytes).`,
      {
        hint:
          'An export of 200,000 people holds 12 to 45 MB: check the file for very long or repeated values ' +
          '(it may be damaged, or built to exhaust memory). If the data is genuine, raise maxTextBytes in the configuration.',
      },
    );
  }
}

/**
 * A row whose cell count differs from the header's: the row is still passed on (its missing cells read
 * as ''), and the engine warns about it. Extra non-empty cells are listed, not put in `values`.
 */
export interface ColumnCountMismatch {
  /** Cells in the header row. */
  expected: number;
  /** Cells in this row. */
  found: number;
  /** Non-empty cells beyond the header's last column, in order. */
  extraValues: string[];
}

/** One data row of the source, keyed by the source's own column headers. */
export interface SourceRecord {
  /** The row as a person finds it in the file: the header is row 1, the first data row is row 2. */
  rowNumber: number;
  values: Record<string, string>;
  columnCountMismatch?: ColumnCountMismatch;
}

export interface SourceTable {
  /** Where the data came from, for logs and messages: e.g. "sftp.example.com:/outbound/employees_0115.csv". */
  origin: string;
  headers: string[];
  /**
   * The records in order, a batch at a time (whatever the source has ready: one await per batch rather
   * than per record, which over 100k records is a good part of a run). Read once; throws SourceError if
   * the source breaks midway.
   */
  batches: AsyncIterable<SourceRecord[]>;
  /**
   * The connector's own names for directory fields (a Workday report's `Email_Address`, Google's
   * `primaryEmail`), tried in order for a field the configuration's mapping and the header-name fallback
   * leave unresolved. File sources have none: their headers are the customer's.
   */
  defaultColumns?: Partial<Record<DirectoryField, readonly string[]>>;
  /**
   * The text budget of the load, already charged with what the reader holds; the engine charges the values
   * it keeps to the same one. Absent: the engine uses DEFAULT_MAX_TEXT_BYTES.
   */
  textBudget?: TextBudget;
  /** Releases connections and files, also when the rows were not read to the end. */
  close(): Promise<void>;
  /**
   * The exact source read (source-fingerprint.ts), once `batches` has ended: drained, or failed after the
   * connector had read every byte; undefined before, or when the source broke off midway. Every connector
   * has one (load-source.ts holds them to it); rows fed by a test or a benchmark may not.
   */
  fingerprint?(): SourceFingerprint | undefined;
}

/** A connector's table: it always has a fingerprint. */
export type ConnectorTable = SourceTable & Required<Pick<SourceTable, 'fingerprint'>>;

/** Non-public hosts and ranges a connector may reach (host-guard.ts reads and applies it). */
export interface AllowList {
  /** Host names allowed whatever they resolve to, lower case. */
  hosts: Set<string>;
  ranges: BlockList;
}

export interface LoadOptions {
  /** The run the load is for: names what the load leaves on disk, so leftovers can be told apart. */
  runId?: string;
  /**
   * Non-public hosts and ranges the connector may reach (host-guard.ts). Without it, only public
   * addresses are reached.
   */
  allowList?: AllowList;
  /** Aborts the load, the transfer included (a cancel, a lost run, a worker stopping). */
  signal?: AbortSignal;
  /** Told as a transfer advances, so the run's heartbeat reflects progress while nothing is parsed yet. */
  onProgress?: (progress: { bytes: number }) => void;
  /**
   * The configuration's field mapping, for a connector whose records can hold what a column cannot (a
   * Workday list or object): it fails the load only when the sync reads that column.
   */
  mapping?: FieldMapping;
}
