import type { LogEntry } from './log-entry.ts';
import type { LogFileEntry } from './log-file.ts';

/**
 * A run's log is stored as `sync_log_chunk` rows (migration log_in_chunks): up to LOG_CHUNK_LINES lines
 * each, as a JSON array of lines, each line an array of its fields: seq, row number, external ID, email,
 * name, action, outcome, changes, message, hint. The `sync_log` view reads the same layout back for SQL.
 */
export const LOG_CHUNK_LINES = 1_000;

export interface LogChunk {
  firstSeq: number;
  lastSeq: number;
  /** The chunk's lines as JSON text: `[[seq, row_number, external_id, ...], ...]`. */
  lines: string;
}

const json = (value: string | null | undefined) => (value == null ? 'null' : JSON.stringify(value));

/** One line as JSON: one template per line, the log being most of what a run writes. */
function lineJson(seq: number, e: LogEntry): string {
  return (
    `[${seq},${e.rowNumber ?? 'null'},${json(e.externalId)},${json(e.email)},${json(e.name)},` +
    `"${e.action}","${e.outcome}",${e.changes ? JSON.stringify(e.changes) : 'null'},` +
    `${json(e.message)},${json(e.hint)}]`
  );
}

/**
 * A lone UTF-16 surrogate (an XML character reference can make one) comes out of JSON.stringify as a
 * `\udXXX` escape, and no other character does (pairs come out as they are). PostgreSQL's json refuses
 * it, so it becomes U+FFFD, as it would written as UTF-8 text. After an escaped backslash, `ud...` is text.
 */
const LONE_SURROGATE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

/** JSON text as PostgreSQL's json and jsonb take it: a lone surrogate's escape becomes U+FFFD's. */
export function withoutLoneSurrogates(json: string): string {
  return json.includes('\\ud') ? json.replace(LONE_SURROGATE, '$1\\ufffd') : json;
}

/** The entries as chunks with consecutive seqs from `firstSeq`, each made only when it is asked for. */
export function* logChunks(entries: Iterable<LogEntry>, firstSeq: number): Generator<LogChunk> {
  let seq = firstSeq;
  let lines = '';
  let count = 0;
  const chunk = (): LogChunk => {
    const text = `[${lines}]`;
    const first = seq - count;
    lines = '';
    count = 0;
    return {
      firstSeq: first,
      lastSeq: seq - 1,
      lines: withoutLoneSurrogates(text),
    };
  };
  for (const entry of entries) {
    lines += count === 0 ? lineJson(seq, entry) : `,${lineJson(seq, entry)}`;
    seq++;
    if (++count === LOG_CHUNK_LINES) yield chunk();
  }
  if (count > 0) yield chunk();
}

type StoredLine = [
  number,
  number | null,
  string | null,
  string | null,
  string | null,
  LogFileEntry['action'],
  LogFileEntry['outcome'],
  LogFileEntry['changes'],
  string | null,
  string | null,
];

/** A chunk's lines (its JSON text) as log file entries. */
export function readLogChunk(lines: string): LogFileEntry[] {
  return (JSON.parse(lines) as StoredLine[]).map(
    ([seq, rowNumber, externalId, email, name, action, outcome, changes, message, hint]) => ({
      seq,
      rowNumber,
      externalId,
      email,
      name,
      action,
      outcome,
      changes,
      message,
      hint,
    }),
  );
}
